//go:build linux || darwin || freebsd

package snapshot

import (
	"errors"

	"golang.org/x/sys/unix"
)

// readXattrs returns the extended attributes of path, not following
// symlinks. Filesystems without xattr support yield none.
func readXattrs(path string) ([]Xattr, error) {
	size, err := unix.Llistxattr(path, nil)
	if err != nil || size == 0 {
		return nil, ignoreNoXattr(err)
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(path, buf)
	if err != nil {
		return nil, ignoreNoXattr(err)
	}
	var out []Xattr
	for _, name := range splitNull(buf[:size]) {
		vsize, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			continue // removed meanwhile
		}
		val := make([]byte, vsize)
		if vsize, err = unix.Lgetxattr(path, name, val); err != nil {
			continue
		}
		out = append(out, Xattr{Name: name, Value: val[:vsize]})
	}
	return out, nil
}

func ignoreNoXattr(err error) error {
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, errNoAttr) {
		return nil
	}
	return err
}

func splitNull(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}
