//go:build linux && !cairn_portable

package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// inParent runs fn with a descriptor of its parent directory, opened
// through root so that no symlink leads outside the target.
func inParent(root *os.Root, rel string, fn func(dirfd int, name string) error) error {
	dir := path.Dir(rel)
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return fn(int(d.Fd()), path.Base(rel))
}

// restoreSpecial creates a symlink, FIFO or device node.
func (r *Restorer) restoreSpecial(root *os.Root, it item) {
	if !r.prepare(root, it) {
		return
	}
	n := it.node
	var err error
	switch n.Type {
	case TypeSymlink:
		err = root.Symlink(n.LinkTarget, it.rel)
	case TypeFIFO:
		err = inParent(root, it.rel, func(fd int, name string) error {
			return unix.Mkfifoat(fd, name, 0o600)
		})
	case TypeCharDev, TypeBlockDev:
		mode := uint32(unix.S_IFCHR)
		if n.Type == TypeBlockDev {
			mode = unix.S_IFBLK
		}
		err = inParent(root, it.rel, func(fd int, name string) error {
			return unix.Mknodat(fd, name, mode|0o600, int(n.Rdev))
		})
	case TypeSocket:
		return // a socket is recreated by the program that listens on it
	}
	if err != nil {
		r.opts.OnWarning(it.snap, fmt.Errorf("create %v: %w", n.Type, err))
		return
	}
	r.setMeta(root, it)
}

// setMeta restores ownership, extended attributes, mode and times, in that
// order (chown clears setuid bits; a read-only mode would block xattrs).
// Failures are warnings: the content is already in place.
func (r *Restorer) setMeta(root *os.Root, it item) {
	n := it.node
	warn := func(what string, err error) {
		if err != nil {
			r.opts.OnWarning(it.snap, fmt.Errorf("%s: %w", what, err))
		}
	}
	if r.opts.Owner {
		warn("restore owner", root.Lchown(it.rel, int(n.UID), int(n.GID)))
	}
	if n.Type == TypeSymlink {
		warn("restore times", inParent(root, it.rel, func(fd int, name string) error {
			ts := []unix.Timespec{unix.NsecToTimespec(nanos(n.AccessTime)), unix.NsecToTimespec(nanos(n.ModTime))}
			return unix.UtimesNanoAt(fd, name, ts, unix.AT_SYMLINK_NOFOLLOW)
		}))
		return
	}
	if len(n.Xattrs) > 0 && (n.Type == TypeFile || n.Type == TypeDir) {
		warn("restore extended attributes", r.setXattrs(root, it))
	}
	warn("restore mode", root.Chmod(it.rel, n.FileMode()&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky)))
	atime := n.AccessTime
	if atime.IsZero() {
		atime = n.ModTime
	}
	warn("restore times", root.Chtimes(it.rel, atime, n.ModTime))
}

func (r *Restorer) setXattrs(root *os.Root, it item) error {
	f, err := root.Open(it.rel)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	var errs []error
	for _, x := range it.node.Xattrs {
		if err := unix.Fsetxattr(int(f.Fd()), x.Name, x.Value, 0); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", x.Name, err))
		}
	}
	return errors.Join(errs...)
}

// setFileMeta restores a regular file's metadata through its open
// descriptor, after its content is written: no path is looked up again.
// It reports false if the times must still be set by path (kernels older
// than 5.8 lack utimensat with AT_EMPTY_PATH).
func (r *Restorer) setFileMeta(f restoreFile, it item) bool {
	fd := int(f.(rawFile))
	n := it.node
	warn := func(what string, err error) {
		if err != nil {
			r.opts.OnWarning(it.snap, fmt.Errorf("%s: %w", what, err))
		}
	}
	if r.opts.Owner {
		warn("restore owner", unix.Fchown(fd, int(n.UID), int(n.GID)))
	}
	var errs []error
	for _, x := range n.Xattrs {
		if err := unix.Fsetxattr(fd, x.Name, x.Value, 0); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", x.Name, err))
		}
	}
	warn("restore extended attributes", errors.Join(errs...))
	warn("restore mode", ignoringEINTR(func() error { return unix.Fchmod(fd, n.Mode&0o7777) }))
	atime := n.AccessTime
	if atime.IsZero() {
		atime = n.ModTime
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(n.ModTime.UnixNano())}
	return unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH) == nil
}
