//go:build !linux || cairn_portable

package snapshot

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"
)

// restoreSpecial creates a symlink. FIFOs and device nodes are created on
// Linux only; elsewhere each one is reported, never silently left out.
func (r *Restorer) restoreSpecial(root *os.Root, it item) {
	n := it.node
	switch n.Type {
	case TypeSocket:
		return // a socket is recreated by the program that listens on it
	case TypeFIFO, TypeCharDev, TypeBlockDev:
		r.opts.OnWarning(it.snap, fmt.Errorf("create %v: not supported on %s (only on Linux)", n.Type, runtime.GOOS))
		return
	}
	if !r.prepare(root, it) {
		return
	}
	if err := root.Symlink(n.LinkTarget, it.rel); err != nil {
		r.opts.OnWarning(it.snap, fmt.Errorf("create %v: %w", n.Type, err))
		return
	}
	r.setMeta(root, it)
}

// setMeta restores ownership, extended attributes, mode and times by path
// below the root (a symlink's own times, without following it, except on
// Windows).
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
		warn("restore times", setSymlinkTimes(root, it.rel, nonZero(n.AccessTime, n.ModTime), n.ModTime))
		return
	}
	if len(n.Xattrs) > 0 && (n.Type == TypeFile || n.Type == TypeDir) {
		f, err := root.Open(it.rel)
		if err == nil {
			err = setXattrs(f, n.Xattrs)
			_ = f.Close()
		}
		warn("restore extended attributes", err)
	}
	warn("restore mode", root.Chmod(it.rel, n.FileMode()&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky)))
	atime := n.AccessTime
	if atime.IsZero() {
		atime = n.ModTime
	}
	warn("restore times", root.Chtimes(it.rel, atime, n.ModTime))
}

// setFileMeta restores a regular file's owner, extended attributes and
// mode through its open handle; it returns false, so that the caller
// sets the times by path once the file is closed.
func (r *Restorer) setFileMeta(rf restoreFile, it item) bool {
	f := rf.(*os.File)
	n := it.node
	warn := func(what string, err error) {
		if err != nil {
			r.opts.OnWarning(it.snap, fmt.Errorf("%s: %w", what, err))
		}
	}
	if r.opts.Owner {
		warn("restore owner", f.Chown(int(n.UID), int(n.GID)))
	}
	if len(n.Xattrs) > 0 {
		warn("restore extended attributes", setXattrs(f, n.Xattrs))
	}
	warn("restore mode", f.Chmod(n.FileMode()&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky)))
	return false
}

func setXattrs(f *os.File, xs []Xattr) error {
	var errs []error
	for _, x := range xs {
		if err := fsetxattr(f, x.Name, x.Value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", x.Name, err))
		}
	}
	return errors.Join(errs...)
}

func nonZero(t, or time.Time) time.Time {
	if t.IsZero() {
		return or
	}
	return t
}
