// Package throttle wraps a backend and bounds the bytes per second it
// sends (Save) and receives (Load), for --limit-upload and
// --limit-download: a backup that must not fill a shared uplink.
package throttle

import (
	"context"
	"io"

	"github.com/cairn-backup/cairn/backend"
	"golang.org/x/time/rate"
)

// chunk is the most bytes taken from the limiter at once.
const chunk = 64 << 10

// Backend limits the rate of the wrapped backend's transfers.
type Backend struct {
	backend.Backend
	up, down *rate.Limiter // nil: no limit
}

// New wraps be; upload and download are bytes per second, 0 for no
// limit.
func New(be backend.Backend, upload, download int) *Backend {
	b := &Backend{Backend: be}
	if upload > 0 {
		b.up = rate.NewLimiter(rate.Limit(upload), max(upload, chunk))
	}
	if download > 0 {
		b.down = rate.NewLimiter(rate.Limit(download), max(download, chunk))
	}
	return b
}

// Unwrap returns the wrapped backend.
func (b *Backend) Unwrap() backend.Backend { return b.Backend }

// wait takes n bytes from l, in pieces no larger than its burst.
func wait(ctx context.Context, l *rate.Limiter, n int) error {
	for n > 0 {
		k := min(n, l.Burst())
		if err := l.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// Save waits until the upload limit allows data, then saves it.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if b.up != nil {
		if err := wait(ctx, b.up, len(data)); err != nil {
			return err
		}
	}
	return b.Backend.Save(ctx, h, data)
}

// Load returns a reader that reads no faster than the download limit.
func (b *Backend) Load(ctx context.Context, h backend.Handle, offset, length int64) (io.ReadCloser, error) {
	rd, err := b.Backend.Load(ctx, h, offset, length)
	if err != nil || b.down == nil {
		return rd, err
	}
	return &reader{ReadCloser: rd, ctx: ctx, l: b.down}, nil
}

type reader struct {
	io.ReadCloser
	ctx context.Context
	l   *rate.Limiter
}

func (r *reader) Read(p []byte) (int, error) {
	if len(p) > chunk {
		p = p[:chunk]
	}
	n, err := r.ReadCloser.Read(p)
	if n > 0 {
		if werr := wait(r.ctx, r.l, n); werr != nil {
			return n, werr
		}
	}
	return n, err
}
