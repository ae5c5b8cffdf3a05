// Package cache keeps local copies of a remote repository's small,
// immutable files (keys, index files and snapshots), so that opening the
// repository again reads them from disk instead of the network, as
// restic's cache does.
//
// Every file cairn stores is named by the BLAKE3 hash of its bytes, so a
// cached copy is checked against its name whenever it is read: a damaged
// copy is dropped and the file fetched again, never reported as damage of
// the repository. Listing a type removes the copies of files that are no
// longer in the repository. Packs, locks and records are never cached. A
// context made by backend.BypassCache reads the storage itself (check).
package cache

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/zeebo/blake3"
)

// Backend is a backend with a local cache of its small immutable files.
type Backend struct {
	backend.Backend
	dir string
}

// cached says which types are cached.
var cached = map[backend.FileType]bool{backend.Key: true, backend.Index: true, backend.Snapshot: true}

// tag marks the cache root for backup tools (--exclude-caches).
const tag = "Signature: 8a477f597d28d172789f06886806bc55\n# This file marks a cache directory created by cairn.\n"

// New caches be's files in dir (created, 0700; a CACHEDIR.TAG marks its
// parent, the cache root).
func New(be backend.Backend, dir string) (*Backend, error) {
	for _, t := range backend.FileTypes {
		if cached[t] {
			if err := os.MkdirAll(filepath.Join(dir, t.Dir()), 0o700); err != nil {
				return nil, fmt.Errorf("cache: %w", err)
			}
		}
	}
	now := time.Now()
	_ = os.Chtimes(dir, now, now) // the last use, for Cleanup
	tagFile := filepath.Join(filepath.Dir(dir), "CACHEDIR.TAG")
	if _, err := os.Stat(tagFile); errors.Is(err, fs.ErrNotExist) {
		_ = os.WriteFile(tagFile, []byte(tag), 0o600)
	}
	return &Backend{Backend: be, dir: dir}, nil
}

// Unwrap returns the wrapped backend.
func (b *Backend) Unwrap() backend.Backend { return b.Backend }

// Create passes bucket creation on.
func (b *Backend) Create(ctx context.Context) error {
	if c, ok := b.Backend.(backend.Creator); ok {
		return c.Create(ctx)
	}
	return nil
}

func (b *Backend) path(h backend.Handle) string { return filepath.Join(b.dir, h.Type.Dir(), h.Name) }

// matches reports whether data is the file its name says.
func matches(h backend.Handle, data []byte) bool {
	sum := blake3.Sum256(data)
	return hex.EncodeToString(sum[:]) == h.Name
}

// get returns the cached copy of h, checked against its name; a damaged
// copy is removed.
func (b *Backend) get(h backend.Handle) ([]byte, bool) {
	if !cached[h.Type] || h.Valid() != nil {
		return nil, false
	}
	data, err := os.ReadFile(b.path(h))
	if err != nil {
		return nil, false
	}
	if !matches(h, data) {
		_ = os.Remove(b.path(h))
		return nil, false
	}
	return data, true
}

// put keeps a copy of h, if its bytes are what its name says. A failure
// to write the copy only costs a download later.
func (b *Backend) put(h backend.Handle, data []byte) {
	if !cached[h.Type] || h.Valid() != nil || !matches(h, data) {
		return
	}
	tmp, err := os.CreateTemp(filepath.Join(b.dir, h.Type.Dir()), ".tmp-*")
	if err != nil {
		return
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), b.path(h))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
}

// Save stores the file, and keeps a copy of a cached type.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := b.Backend.Save(ctx, h, data); err != nil {
		return err
	}
	b.put(h, data)
	return nil
}

// Load serves a cached type from the cache, fetching and keeping the
// whole file on a miss.
func (b *Backend) Load(ctx context.Context, h backend.Handle, offset, length int64) (io.ReadCloser, error) {
	if !cached[h.Type] || backend.CacheBypassed(ctx) {
		return b.Backend.Load(ctx, h, offset, length)
	}
	data, ok := b.get(h)
	if !ok {
		var err error
		if data, err = backend.ReadAll(ctx, b.Backend, h, 0, 0); err != nil {
			return nil, err
		}
		b.put(h, data)
	}
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	data = data[offset:]
	if length > 0 && length < int64(len(data)) {
		data = data[:length]
	}
	return backend.NewBytesReader(data), nil
}

// Stat answers from the cache for a cached copy that matches its name.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if backend.CacheBypassed(ctx) {
		return b.Backend.Stat(ctx, h)
	}
	if data, ok := b.get(h); ok {
		return backend.FileInfo{Name: h.Name, Size: int64(len(data))}, nil
	}
	return b.Backend.Stat(ctx, h)
}

// List lists the repository's files; for a cached type, copies of files
// it no longer has are removed.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if !cached[t] {
		return b.Backend.List(ctx, t, fn)
	}
	present := map[string]bool{}
	if err := b.Backend.List(ctx, t, func(fi backend.FileInfo) error {
		present[fi.Name] = true
		return fn(fi)
	}); err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Join(b.dir, t.Dir()))
	if err != nil {
		return nil
	}
	for _, e := range entries {
		if !present[e.Name()] && e.Name()[0] != '.' { // .tmp-*: a copy being written
			_ = os.Remove(filepath.Join(b.dir, t.Dir(), e.Name()))
		}
	}
	return nil
}

// Remove removes the file and its copy.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if cached[h.Type] && h.Valid() == nil {
		_ = os.Remove(b.path(h))
	}
	return b.Backend.Remove(ctx, h)
}

// Entry is one repository's cache below a cache root.
type Entry struct {
	Name     string    `json:"name"`
	LastUsed time.Time `json:"last_used"`
	Size     int64     `json:"size"`
	Files    int       `json:"files"`
}

// List lists the repository caches below root, most recently used first.
// A root that does not exist holds none.
func List(root string) ([]Entry, error) {
	dirs, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		fi, err := d.Info()
		if err != nil {
			continue
		}
		e := Entry{Name: d.Name(), LastUsed: fi.ModTime()}
		_ = filepath.WalkDir(filepath.Join(root, d.Name()), func(_ string, f fs.DirEntry, err error) error {
			if err == nil && f.Type().IsRegular() {
				if info, err := f.Info(); err == nil {
					e.Size += info.Size()
					e.Files++
				}
			}
			return nil
		})
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastUsed.After(out[j].LastUsed) })
	return out, nil
}

// Cleanup removes the repository caches below root not used since
// before (their repositories are gone, or not used from this machine any
// more), and returns them.
func Cleanup(root string, before time.Time) ([]Entry, error) {
	all, err := List(root)
	if err != nil {
		return nil, err
	}
	var removed []Entry
	for _, e := range all {
		if e.LastUsed.Before(before) {
			if err := os.RemoveAll(filepath.Join(root, e.Name)); err != nil {
				return removed, err
			}
			removed = append(removed, e)
		}
	}
	return removed, nil
}
