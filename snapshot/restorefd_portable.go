//go:build !linux || cairn_portable

package snapshot

import (
	"errors"
	"io/fs"
	"os"
	"path"
)

// dirHandles creates restored files through the os.Root, which keeps every
// path inside the target. Linux keeps a descriptor per directory instead
// (restorefd_linux.go); elsewhere each file is opened by its path below
// the root.
type dirHandles struct{ root *os.Root }

func newDirHandles(root *os.Root, _ []item) *dirHandles { return &dirHandles{root: root} }

// create creates name in dir (relative to the target) for writing, with
// fs.ErrExist if something is in the way. O_EXCL never follows a symlink.
func (d *dirHandles) create(dir, name string) (restoreFile, error) {
	f, err := d.root.OpenFile(path.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, os.ErrExist
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (d *dirHandles) done(string) {}

func (d *dirHandles) closeAll() {}
