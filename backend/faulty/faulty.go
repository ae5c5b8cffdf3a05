// Package faulty wraps a backend and injects faults for tests: failing
// operations, short reads, truncated writes that report success, and bit
// flips. Decisions come from a seeded random source, so runs are repeatable.
package faulty

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync"

	"github.com/cairn-backup/cairn/backend"
)

// ErrInjected is the error returned by injected failures.
var ErrInjected = errors.New("injected fault")

// Config chooses which faults happen. Rates are probabilities per call.
type Config struct {
	Seed          uint64
	ErrorRate     float64 // Save, Load and Remove fail with ErrInjected
	ShortReadRate float64 // Load returns only part of the range
	TruncateRate  float64 // Save stores a prefix of the data and reports success
	FlipRate      float64 // Load flips one bit of the returned data
	// FailSaveAfter, if > 0, makes every Save after the first FailSaveAfter
	// of files of type FailSaveType (any type if 0) fail.
	FailSaveAfter int
	FailSaveType  backend.FileType
	// CrashAfter, if > 0, simulates a kill: after that many Save and
	// Remove calls, every call fails with ErrInjected.
	CrashAfter int
	// ListFailAfter, if > 0, makes List fail with ErrInjected after
	// reporting that many files (a listing that breaks halfway).
	ListFailAfter int
	// StallAfterLoads, if > 0, makes every Load of a file of type
	// StallType (any type if 0) after the first StallAfterLoads block
	// until its context ends, as a backend that stops answering does.
	// OnStall, if set, is called once, when the first Load stalls: tests
	// wait for it instead of sleeping.
	StallAfterLoads int
	StallType       backend.FileType
	OnStall         func()
	// StallAfterSaves is StallAfterLoads for Save: the saves of StallType
	// after the first StallAfterSaves block until their context ends.
	StallAfterSaves int
}

// Backend injects faults into calls to the wrapped backend.
type Backend struct {
	backend.Backend
	cfg   Config
	mu    sync.Mutex // guards rng and saves
	rng   *rand.Rand
	saves int
	muts  int // Save and Remove calls, for CrashAfter
	loads int // Loads of StallType, for StallAfterLoads
	saved int // Saves of StallType, for StallAfterSaves

	stallOnce sync.Once
}

// stall blocks a Load past StallAfterLoads, or a Save past
// StallAfterSaves, until ctx ends.
func (b *Backend) stall(ctx context.Context, h backend.Handle, save bool) error {
	after, count := b.cfg.StallAfterLoads, &b.loads
	if save {
		after, count = b.cfg.StallAfterSaves, &b.saved
	}
	if after <= 0 || (b.cfg.StallType != 0 && b.cfg.StallType != h.Type) {
		return nil
	}
	b.mu.Lock()
	*count++
	n := *count
	b.mu.Unlock()
	if n <= after {
		return nil
	}
	if b.cfg.OnStall != nil {
		b.stallOnce.Do(b.cfg.OnStall)
	}
	<-ctx.Done()
	return ctx.Err()
}

// crashed counts a mutating call and reports whether the simulated crash
// has happened.
func (b *Backend) crashed(mutating bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg.CrashAfter > 0 && b.muts >= b.cfg.CrashAfter {
		return true
	}
	if mutating {
		b.muts++
	}
	return false
}

// Mutations returns the number of Save and Remove calls made so far.
func (b *Backend) Mutations() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.muts
}

// New wraps be.
func New(be backend.Backend, cfg Config) *Backend {
	return &Backend{Backend: be, cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
}

// Unwrap returns the wrapped backend.
func (b *Backend) Unwrap() backend.Backend { return b.Backend }

func (b *Backend) hit(rate float64) bool {
	if rate <= 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rng.Float64() < rate
}

func (b *Backend) intn(n int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rng.IntN(n)
}

// Save may fail or store a truncated copy.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if b.crashed(true) {
		return ErrInjected
	}
	if err := b.stall(ctx, h, true); err != nil {
		return err
	}
	if b.cfg.FailSaveAfter > 0 && (b.cfg.FailSaveType == 0 || b.cfg.FailSaveType == h.Type) {
		b.mu.Lock()
		b.saves++
		n := b.saves
		b.mu.Unlock()
		if n > b.cfg.FailSaveAfter {
			return ErrInjected
		}
	}
	if b.hit(b.cfg.ErrorRate) {
		return ErrInjected
	}
	if len(data) > 0 && b.hit(b.cfg.TruncateRate) {
		data = data[:b.intn(len(data))]
	}
	return b.Backend.Save(ctx, h, data)
}

// Load may fail, return fewer bytes, or flip a bit.
func (b *Backend) Load(ctx context.Context, h backend.Handle, offset, length int64) (io.ReadCloser, error) {
	if b.crashed(false) || b.hit(b.cfg.ErrorRate) {
		return nil, ErrInjected
	}
	if err := b.stall(ctx, h, false); err != nil {
		return nil, err
	}
	rd, err := b.Backend.Load(ctx, h, offset, length)
	if err != nil || (b.cfg.ShortReadRate <= 0 && b.cfg.FlipRate <= 0) {
		return rd, err
	}
	defer func() { _ = rd.Close() }()
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	if len(data) > 0 && b.hit(b.cfg.ShortReadRate) {
		data = data[:b.intn(len(data))]
	}
	if len(data) > 0 && b.hit(b.cfg.FlipRate) {
		bit := b.intn(len(data) * 8)
		data[bit/8] ^= 1 << (bit % 8)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// Remove may fail.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if b.crashed(true) || b.hit(b.cfg.ErrorRate) {
		return ErrInjected
	}
	return b.Backend.Remove(ctx, h)
}

// List may fail halfway.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if b.crashed(false) {
		return ErrInjected
	}
	n := 0
	return b.Backend.List(ctx, t, func(fi backend.FileInfo) error {
		if b.cfg.ListFailAfter > 0 && n >= b.cfg.ListFailAfter {
			return ErrInjected
		}
		n++
		return fn(fi)
	})
}
