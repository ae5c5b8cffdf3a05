package snapshot

import (
	"errors"
	"io/fs"
	"os/user"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// idNames caches uid/gid to name lookups.
type idNames struct {
	mu     sync.Mutex // guards users and groups
	users  map[uint32]string
	groups map[uint32]string
}

func (c *idNames) user(uid uint32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if name, ok := c.users[uid]; ok {
		return name
	}
	name := ""
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		name = u.Username
	}
	if c.users == nil {
		c.users = map[uint32]string{}
	}
	c.users[uid] = name
	return name
}

func (c *idNames) group(gid uint32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if name, ok := c.groups[gid]; ok {
		return name
	}
	name := ""
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		name = g.Name
	}
	if c.groups == nil {
		c.groups = map[uint32]string{}
	}
	c.groups[gid] = name
	return name
}

func nodeType(m fs.FileMode) NodeType {
	switch {
	case m.IsRegular():
		return TypeFile
	case m.IsDir():
		return TypeDir
	case m&fs.ModeSymlink != 0:
		return TypeSymlink
	case m&fs.ModeNamedPipe != 0:
		return TypeFIFO
	case m&fs.ModeSocket != 0:
		return TypeSocket
	case m&fs.ModeCharDevice != 0:
		return TypeCharDev
	case m&fs.ModeDevice != 0:
		return TypeBlockDev
	}
	return 0
}

// nodeFromInfo fills a node's metadata from lstat information.
func (c *idNames) nodeFromInfo(name string, fi fs.FileInfo) Node {
	n := Node{Name: name, Type: nodeType(fi.Mode()), ModTime: fi.ModTime().UTC()}
	m := fi.Mode()
	n.Mode = uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		n.Mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		n.Mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		n.Mode |= 0o1000
	}
	if n.Type == TypeFile {
		n.Size = uint64(fi.Size())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		n.UID, n.GID = st.Uid, st.Gid
		n.User, n.Group = c.user(st.Uid), c.group(st.Gid)
		n.Inode, n.Device, n.Links = st.Ino, uint64(st.Dev), uint64(st.Nlink)
		n.ChangeTime = time.Unix(st.Ctim.Sec, st.Ctim.Nsec).UTC()
		if n.Type == TypeCharDev || n.Type == TypeBlockDev {
			n.Rdev = uint64(st.Rdev)
		}
	}
	return n
}

// accessTime returns a file's access time from lstat information, or the
// zero time.
func accessTime(fi fs.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Atim.Sec, st.Atim.Nsec).UTC()
	}
	return time.Time{}
}

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
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENODATA) {
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
