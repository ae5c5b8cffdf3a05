//go:build linux && !cairn_portable

package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path"
	"sync"

	"golang.org/x/sys/unix"
)

// dirHandles keeps one open descriptor per target directory while its
// files are written. The descriptor is opened once through the os.Root, so
// no symlink leads it out of the target; each file is then created with a
// single openat below it, instead of a walk from the root that costs an
// openat and a close per path component.
type dirHandles struct {
	root *os.Root
	mu   sync.Mutex
	left map[string]int // files of each directory not yet finished
	open map[string]*dirHandle
}

type dirHandle struct {
	once sync.Once
	f    *os.File
	fd   int
	err  error
}

// newDirHandles counts the files to be written into each directory, so a
// directory's descriptor is closed when its last file is done.
func newDirHandles(root *os.Root, files []item) *dirHandles {
	d := &dirHandles{root: root, left: map[string]int{}, open: map[string]*dirHandle{}}
	for _, it := range files {
		d.left[path.Dir(it.rel)]++
	}
	return d
}

// acquire returns a descriptor of dir, opening it on first use.
func (d *dirHandles) acquire(dir string) (int, error) {
	d.mu.Lock()
	h := d.open[dir]
	if h == nil {
		h = &dirHandle{}
		d.open[dir] = h
	}
	d.mu.Unlock()
	h.once.Do(func() {
		h.f, h.err = d.root.Open(dir)
		if h.err == nil {
			h.fd = int(h.f.Fd())
		}
	})
	return h.fd, h.err
}

// done marks one file of dir finished, closing the descriptor after the
// last one.
func (d *dirHandles) done(dir string) {
	d.mu.Lock()
	d.left[dir]--
	var h *dirHandle
	if d.left[dir] <= 0 {
		h = d.open[dir]
		delete(d.open, dir)
	}
	d.mu.Unlock()
	if h != nil && h.f != nil {
		_ = h.f.Close()
	}
}

// create creates name in dir (relative to the target) for writing, with
// fs.ErrExist if something is in the way.
func (d *dirHandles) create(dir, name string) (restoreFile, error) {
	dirfd, err := d.acquire(dir)
	if err != nil {
		return nil, err
	}
	f, err := createAt(dirfd, name)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// closeAll closes what is still open (files a cancelled restore never
// reached).
func (d *dirHandles) closeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for dir, h := range d.open {
		if h.f != nil {
			_ = h.f.Close()
		}
		delete(d.open, dir)
	}
}

// createAt creates name below dirfd for writing. O_EXCL never follows a
// symlink at name, and name is one validated component, so the new file
// is always inside the directory.
func createAt(dirfd int, name string) (rawFile, error) {
	for {
		fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EEXIST) {
			return -1, os.ErrExist
		}
		return rawFile(fd), err
	}
}

// rawFile is a descriptor of a regular file being restored. Writes to
// regular files block in the kernel either way; going without an os.File
// saves the poller registration and mode checks for every small file.
type rawFile int

// WriteAt writes all of b at off.
func (f rawFile) WriteAt(b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		m, err := unix.Pwrite(int(f), b[n:], off+int64(n))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("write: %w", err)
		}
		if m == 0 {
			return n, errors.New("write: no progress")
		}
		n += m
	}
	return n, nil
}

// Truncate sets the file's size.
func (f rawFile) Truncate(size int64) error {
	return ignoringEINTR(func() error { return unix.Ftruncate(int(f), size) })
}

// Close closes the descriptor.
func (f rawFile) Close() error { return unix.Close(int(f)) }

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
