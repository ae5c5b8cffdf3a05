// Package limit wraps a backend and bounds the number of calls in flight,
// so that many workers do not open more connections than the storage
// likes.
package limit

import (
	"context"
	"io"

	"github.com/cairn-backup/cairn/backend"
)

// Backend allows at most n concurrent calls to the wrapped backend.
type Backend struct {
	backend.Backend
	sem chan struct{}
}

// New wraps be with a limit of n (at least 1) concurrent calls.
func New(be backend.Backend, n int) *Backend {
	return &Backend{Backend: be, sem: make(chan struct{}, max(n, 1))}
}

// Unwrap returns the wrapped backend.
func (b *Backend) Unwrap() backend.Backend { return b.Backend }

// Connections returns the limit.
func (b *Backend) Connections() int { return cap(b.sem) }

func (b *Backend) acquire(ctx context.Context) error {
	select {
	case b.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *Backend) release() { <-b.sem }

// Save waits for a free connection.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := b.acquire(ctx); err != nil {
		return err
	}
	defer b.release()
	return b.Backend.Save(ctx, h, data)
}

// Load holds a connection until the returned reader is closed.
func (b *Backend) Load(ctx context.Context, h backend.Handle, offset, length int64) (io.ReadCloser, error) {
	if err := b.acquire(ctx); err != nil {
		return nil, err
	}
	rd, err := b.Backend.Load(ctx, h, offset, length)
	if err != nil {
		b.release()
		return nil, err
	}
	return &releaser{ReadCloser: rd, release: b.release}, nil
}

type releaser struct {
	io.ReadCloser
	release func()
	done    bool
}

// Close closes the reader and frees the connection.
func (r *releaser) Close() error {
	err := r.ReadCloser.Close()
	if !r.done {
		r.done = true
		r.release()
	}
	return err
}

// Stat waits for a free connection.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if err := b.acquire(ctx); err != nil {
		return backend.FileInfo{}, err
	}
	defer b.release()
	return b.Backend.Stat(ctx, h)
}

// Remove waits for a free connection.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if err := b.acquire(ctx); err != nil {
		return err
	}
	defer b.release()
	return b.Backend.Remove(ctx, h)
}

// List holds a connection while the listing runs. It gathers the listing
// first and calls fn after releasing the connection, so that fn may itself
// call the backend without waiting on its own listing's slot (a deadlock
// when every slot is held by a listing). An error from fn stops the calls.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if err := b.acquire(ctx); err != nil {
		return err
	}
	var all []backend.FileInfo
	err := b.Backend.List(ctx, t, func(fi backend.FileInfo) error {
		all = append(all, fi)
		return nil
	})
	b.release()
	if err != nil {
		return err
	}
	for _, fi := range all {
		if err := fn(fi); err != nil {
			return err
		}
	}
	return ctx.Err()
}
