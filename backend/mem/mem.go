// Package mem is an in-memory backend for tests.
package mem

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/cairn-backup/cairn/backend"
)

// Backend keeps files in a map. The zero value is not usable; call New.
type Backend struct {
	mu    sync.Mutex // guards files
	files map[backend.Handle][]byte
}

// New returns an empty in-memory backend.
func New() *Backend { return &Backend{files: make(map[backend.Handle][]byte)} }

// Save stores a copy of data.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := h.Valid(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.files[h] = bytes.Clone(data)
	return nil
}

// Load returns a reader over the requested range.
func (b *Backend) Load(ctx context.Context, h backend.Handle, offset, length int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	data, ok := b.files[h]
	b.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("load %v: %w", h, backend.ErrNotExist)
	}
	if offset < 0 || length < 0 || offset > int64(len(data)) {
		return nil, fmt.Errorf("load %v: invalid range %d+%d", h, offset, length)
	}
	data = data[offset:]
	if length > 0 && length < int64(len(data)) {
		data = data[:length]
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// Stat returns the size of h.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.files[h]
	if !ok {
		return backend.FileInfo{}, fmt.Errorf("stat %v: %w", h, backend.ErrNotExist)
	}
	return backend.FileInfo{Name: h.Name, Size: int64(len(data))}, nil
}

// List calls fn for every file of type t.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	b.mu.Lock()
	var infos []backend.FileInfo
	for h, data := range b.files {
		if h.Type == t {
			infos = append(infos, backend.FileInfo{Name: h.Name, Size: int64(len(data)), Path: h.Path()})
		}
	}
	b.mu.Unlock()
	for _, fi := range infos {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(fi); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes h.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.files[h]; !ok {
		return fmt.Errorf("remove %v: %w", h, backend.ErrNotExist)
	}
	delete(b.files, h)
	return nil
}

// Close does nothing.
func (b *Backend) Close() error { return nil }
