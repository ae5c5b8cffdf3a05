// Package local stores a repository in a directory on a local filesystem.
//
// Every Save writes a temporary file in the target directory, fsyncs it,
// renames it into place and fsyncs the directory, so a crash at any instant
// leaves either the old state or the complete new file. Stored files are made
// read-only.
package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/cairn-backup/cairn/backend"
)

// Backend is a repository directory on disk.
type Backend struct {
	root  string
	cache fileCache // open pack files
}

// Open returns a backend rooted at dir. The directory need not exist yet;
// Save creates directories as needed.
func Open(dir string) (*Backend, error) {
	if dir == "" {
		return nil, errors.New("local backend: empty path")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local backend %q: %w", dir, err)
	}
	return &Backend{root: abs}, nil
}

// Root returns the absolute path of the repository directory.
func (b *Backend) Root() string { return b.root }

func (b *Backend) filename(h backend.Handle) string {
	return filepath.Join(b.root, filepath.FromSlash(h.Path()))
}

// Save writes data atomically: temporary file, fsync, rename, directory fsync.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	return b.SaveRelease(ctx, h, [][]byte{data}, func() {})
}

// SaveRelease is Save of the parts one after another, calling release
// once they are written to the file, before it waits for the disk
// (backend.Releaser).
func (b *Backend) SaveRelease(ctx context.Context, h backend.Handle, parts [][]byte, release func()) (err error) {
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	if err := h.Valid(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	name := b.filename(h)
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save %v: %w", h, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(name)+"-")
	if err != nil {
		return fmt.Errorf("save %v: %w", h, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err = writeParts(f, parts); err != nil {
		return fmt.Errorf("save %v: %w", h, err)
	}
	released = true
	release() // the bytes are in the file; only the sync is left
	if err = f.Chmod(storedMode); err != nil {
		return fmt.Errorf("save %v: %w", h, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("save %v: fsync: %w", h, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("save %v: %w", h, err)
	}
	if err = os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("save %v: %w", h, err)
	}
	b.cache.drop(name)
	return syncDir(dir)
}

// writeBufs recycles the buffers that gather small parts into larger
// writes.
var writeBufs = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 1<<20) }}

// writeParts writes the parts to f: a part of 1 MiB or more directly, the
// smaller ones (a pack of small files has thousands) gathered into writes
// of 1 MiB.
func writeParts(f *os.File, parts [][]byte) error {
	if len(parts) == 1 {
		_, err := f.Write(parts[0])
		return err
	}
	bw := writeBufs.Get().(*bufio.Writer)
	defer writeBufs.Put(bw)
	bw.Reset(f)
	defer bw.Reset(nil)
	for _, p := range parts {
		if _, err := bw.Write(p); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func notExist(op string, h backend.Handle, err error) error {
	// A path component that is a plain file (a repository path given to
	// a file) means the object does not exist either.
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%s %v: %w", op, h, backend.ErrNotExist)
	}
	return fmt.Errorf("%s %v: %w", op, h, err)
}

type sectionCloser struct {
	io.Reader
	io.Closer
}

// Load opens the file and returns a reader over the requested range.
func (b *Backend) Load(ctx context.Context, h backend.Handle, offset, length int64) (io.ReadCloser, error) {
	if err := h.Valid(); err != nil {
		return nil, err
	}
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("load %v: invalid range %d+%d", h, offset, length)
	}
	if length == 0 {
		length = 1<<63 - 1 - offset
	}
	if h.Type == backend.Pack {
		cf, err := b.cache.acquire(b.filename(h))
		if err != nil {
			return nil, notExist("load", h, err)
		}
		return sectionCloser{io.NewSectionReader(cf.f, offset, length), releaser{b: b, cf: cf}}, nil
	}
	f, err := os.Open(b.filename(h))
	if err != nil {
		return nil, notExist("load", h, err)
	}
	return sectionCloser{io.NewSectionReader(f, offset, length), f}, nil
}

// releaser returns a cached file when a reader is closed.
type releaser struct {
	b  *Backend
	cf *cachedFile
}

// Close releases the cached file.
func (r releaser) Close() error {
	r.b.cache.release(r.cf)
	return nil
}

// Stat returns the size of h.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if err := h.Valid(); err != nil {
		return backend.FileInfo{}, err
	}
	fi, err := os.Stat(b.filename(h))
	if err != nil {
		return backend.FileInfo{}, notExist("stat", h, err)
	}
	return backend.FileInfo{Name: h.Name, Size: fi.Size()}, nil
}

// List walks the type's directory (both fan-out levels for packs), skipping
// temporary files left by interrupted saves.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if t == backend.Config {
		fi, err := b.Stat(ctx, backend.Handle{Type: t})
		if errors.Is(err, backend.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return fn(fi)
	}
	root := filepath.Join(b.root, t.Dir())
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return filepath.SkipDir
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, err := filepath.Rel(b.root, p)
		if err != nil {
			rel = filepath.Join(t.Dir(), d.Name())
		}
		return fn(backend.FileInfo{Name: d.Name(), Size: info.Size(), Path: filepath.ToSlash(rel)})
	})
	if err != nil {
		return fmt.Errorf("list %v: %w", t, err)
	}
	return nil
}

// Remove deletes h.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := h.Valid(); err != nil {
		return err
	}
	name := b.filename(h)
	b.cache.drop(name)
	if err := os.Remove(name); err != nil {
		return notExist("remove", h, err)
	}
	return syncDir(filepath.Dir(name))
}

// Close closes cached files.
func (b *Backend) Close() error {
	b.cache.closeAll()
	return nil
}
