package repo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend"
)

// appendOnly refuses every deletion, as an S3 user without
// s3:DeleteObject does.
type appendOnly struct{ backend.Backend }

func (appendOnly) Remove(context.Context, backend.Handle) error {
	return backend.Permanent(backend.ErrPermission)
}

// With credentials that cannot delete, a lock is refreshed by a lock file
// that ends the previous one and released by a marker: other commands see
// no lock in force, and a machine with full rights cleans the files up.
func TestLocksWithoutDeletion(t *testing.T) {
	ctx := context.Background()
	full := mem0(t)
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	r := openWithClock(t, appendOnly{full}, clock)
	l, err := r.Lock(ctx, LockOptions{NoRefresh: true})
	must(t, err)
	for i := 0; i < 2; i++ {
		clock.advance(RefreshInterval)
		must(t, l.Refresh(ctx))
	}
	locks, _, err := r.Locks(ctx)
	must(t, err)
	if len(locks) != 1 || locks[0].Name != l.Info().Name {
		t.Fatalf("locks in force after two refreshes: %+v, want only the newest", locks)
	}
	must(t, l.Unlock())
	if locks, _, _ := r.Locks(ctx); len(locks) != 0 {
		t.Errorf("locks in force after unlock: %+v", locks)
	}
	files, _ := backend.Names(ctx, full, backend.Lock)
	if len(files) != 4 {
		t.Errorf("%d lock files, want 4 (three generations and a release marker)", len(files))
	}
	// An exclusive lock is free at once, without waiting for staleness.
	l2, err := r.Lock(ctx, LockOptions{Exclusive: true, NoRefresh: true})
	must(t, err)
	must(t, l2.Unlock())
	// Deleting still fails with the permission error.
	if err := r.remove(ctx, backend.Handle{Type: backend.Snapshot, Name: "aabbccdd"}); !errors.Is(err, backend.ErrPermission) {
		t.Errorf("remove with append-only credentials: %v", err)
	}
	// The maintenance machine removes every ended lock and marker.
	maint := openWithClock(t, full, clock)
	n, _, err := maint.RemoveLocks(ctx, false)
	must(t, err)
	if left, _ := backend.Names(ctx, full, backend.Lock); len(left) != 0 || n != 6 {
		t.Errorf("unlock removed %d, left %v", n, left)
	}
}
