package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/duration"
	"github.com/cairn-backup/cairn/repo"
	"github.com/dustin/go-humanize"
)

// ParsePackSize parses --pack-size, within the bounds the format allows.
func ParsePackSize(s string) (uint32, error) {
	size, err := humanize.ParseBytes(s)
	if err != nil || size < repo.MinPackSize || size > repo.MaxPackSize {
		return 0, fmt.Errorf("--pack-size %q must be a size between 64KiB and 2GiB", s)
	}
	return uint32(size), nil
}

// ParseLock parses init's --retention-mode and --retention-period: no
// mode is no lock; a mode needs a period of at least a day, in whole
// seconds (package duration's fixed units: 30d, 12w).
func ParseLock(mode, period string) (repo.LockPolicy, error) {
	if mode == "" {
		if period != "" {
			return repo.LockPolicy{}, fmt.Errorf("--retention-period needs --retention-mode governance or compliance")
		}
		return repo.LockPolicy{}, nil
	}
	if period == "" {
		return repo.LockPolicy{}, fmt.Errorf("--retention-mode needs --retention-period (30d, say)")
	}
	d, err := duration.ParseFixed(period)
	if err != nil {
		return repo.LockPolicy{}, fmt.Errorf("--retention-period: %w", err)
	}
	if d < 24*time.Hour {
		return repo.LockPolicy{}, fmt.Errorf("--retention-period %s: at least a day (1d)", period)
	}
	p := repo.LockPolicy{Mode: mode, Period: d.Truncate(time.Second)}
	return p, p.Validate()
}

// Init creates the storage's container if it has one (an S3 bucket, which
// the retry wrapper checks and creates with retries) and then a new
// repository on be (repo.Init: key file first, config last).
func Init(ctx context.Context, be backend.Backend, password []byte, opts repo.Options) (*repo.Repository, error) {
	if err := createStorage(ctx, be); err != nil {
		return nil, err
	}
	return repo.Init(ctx, be, password, opts)
}

// createStorage creates the container of the first backend in the chain
// that has one.
func createStorage(ctx context.Context, be backend.Backend) error {
	for be != nil {
		if c, ok := be.(backend.Creator); ok {
			return c.Create(ctx)
		}
		u, ok := be.(backend.Unwrapper)
		if !ok {
			return nil
		}
		be = u.Unwrap()
	}
	return nil
}
