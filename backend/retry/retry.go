// Package retry wraps a backend and retries failed calls with exponential
// backoff and jitter, bounded in attempts and in time. Not-found and
// permanent errors (backend.Permanent) and cancellation are not retried.
// A retried Save re-sends the whole object; a retried Load re-reads the
// whole range, so a connection dropped mid-transfer never yields a partial
// result.
package retry

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/cairn-backup/cairn/backend"
)

// Config bounds retrying.
type Config struct {
	Attempts int           // total tries, at least 1; default 6
	Initial  time.Duration // first backoff; default 200ms
	Max      time.Duration // longest backoff; default 10s
	MaxTotal time.Duration // give up after this much time; default 2m
	// Sleep waits; nil means a timer that honours ctx. Tests inject it.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry is told about each failure that will be retried.
	OnRetry func(op string, h backend.Handle, err error, wait time.Duration)
}

// Backend retries calls to the wrapped backend.
type Backend struct {
	backend.Backend
	cfg Config
}

// New wraps be.
func New(be backend.Backend, cfg Config) *Backend {
	if cfg.Attempts < 1 {
		cfg.Attempts = 6
	}
	if cfg.Initial <= 0 {
		cfg.Initial = 200 * time.Millisecond
	}
	if cfg.Max <= 0 {
		cfg.Max = 10 * time.Second
	}
	if cfg.MaxTotal <= 0 {
		cfg.MaxTotal = 2 * time.Minute
	}
	if cfg.Sleep == nil {
		cfg.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return &Backend{Backend: be, cfg: cfg}
}

// Unwrap returns the wrapped backend.
func (b *Backend) Unwrap() backend.Backend { return b.Backend }

func (b *Backend) do(ctx context.Context, op string, h backend.Handle, fn func() error) error {
	start := time.Now()
	wait := b.cfg.Initial
	var err error
	for attempt := 1; ; attempt++ {
		if err = fn(); err == nil || backend.IsPermanent(err) || ctx.Err() != nil {
			return err
		}
		if attempt >= b.cfg.Attempts || time.Since(start)+wait > b.cfg.MaxTotal {
			return fmt.Errorf("%s %v: giving up after %d attempts: %w", op, h, attempt, err)
		}
		d := wait/2 + time.Duration(rand.Int64N(int64(wait)))
		if b.cfg.OnRetry != nil {
			b.cfg.OnRetry(op, h, err, d)
		}
		if serr := b.cfg.Sleep(ctx, d); serr != nil {
			return serr
		}
		wait = min(2*wait, b.cfg.Max)
	}
}

// Save retries, sending the whole object each time.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	return b.do(ctx, "save", h, func() error { return b.Backend.Save(ctx, h, data) })
}

// Load retries until the whole range has been read.
func (b *Backend) Load(ctx context.Context, h backend.Handle, offset, length int64) (io.ReadCloser, error) {
	var data []byte
	err := b.do(ctx, "load", h, func() error {
		rd, err := b.Backend.Load(ctx, h, offset, length)
		if err != nil {
			return err
		}
		defer func() { _ = rd.Close() }()
		if length > 0 {
			// One buffer of the known size: no regrowth, no copies. A
			// stored file shorter than the range is damage, not a
			// transient failure: it is not retried.
			data = make([]byte, length)
			if _, err = io.ReadFull(rd, data); err != nil {
				return backend.ShortRead(ctx, b.Backend, h, offset+length, err)
			}
			return nil
		}
		data, err = io.ReadAll(rd)
		return err
	})
	if err != nil {
		return nil, err
	}
	return backend.NewBytesReader(data), nil
}

// Stat retries.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (fi backend.FileInfo, err error) {
	err = b.do(ctx, "stat", h, func() error { fi, err = b.Backend.Stat(ctx, h); return err })
	return fi, err
}

// List retries a listing only if it failed before reporting any file, so
// fn never sees a file twice.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	return b.do(ctx, "list", backend.Handle{Type: t}, func() error {
		called := false
		err := b.Backend.List(ctx, t, func(fi backend.FileInfo) error { called = true; return fn(fi) })
		if err != nil && called {
			return backend.Permanent(err)
		}
		return err
	})
}

// Create retries the Create of the first backend below that has one (an
// S3 bucket check and creation, at init), and does nothing otherwise.
func (b *Backend) Create(ctx context.Context) error {
	for be := b.Backend; be != nil; {
		if c, ok := be.(backend.Creator); ok {
			return b.do(ctx, "create", backend.Handle{Type: backend.Config}, func() error { return c.Create(ctx) })
		}
		u, ok := be.(backend.Unwrapper)
		if !ok {
			break
		}
		be = u.Unwrap()
	}
	return nil
}

// Remove retries.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	return b.do(ctx, "remove", h, func() error { return b.Backend.Remove(ctx, h) })
}
