package repo

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/s3"
	"github.com/cairn-backup/cairn/backend/s3/s3test"
)

// On a real MinIO bucket with object locking: prune run while files are
// retained deletes nothing retained; ExtendRetention keeps what is in use
// protected; once the retention of what is no longer used runs out, the
// next prune deletes it and check passes.
//
// The clocks are injected so that files are written with a retention
// that ends two seconds after they are written; the test then waits for
// the server's clock to pass that moment, the lapse being what is tested.
func TestObjectLockLapse(t *testing.T) {
	ctx := context.Background()
	endpoint, ak, sk := s3test.Server(t)
	period := time.Hour
	skew := period - 2*time.Second
	past := func() time.Time { return time.Now().Add(-skew) } // retention ends 2 s after a write
	cfg := s3.Config{Endpoint: endpoint, Bucket: s3test.BucketName(), Prefix: "repo", AccessKey: ak, SecretKey: sk,
		Addressing: "path", ObjectLock: true, Now: past}
	be, err := s3.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	must(t, be.Create(ctx))
	opts := testOpts
	opts.Lock = LockPolicy{Mode: LockGovernance, Period: period}
	r, err := Init(ctx, be, pw, opts)
	must(t, err)
	e := &backupEnv{t: t, be: be, r: r}
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "old"), randBytes(200<<10, 1), 0o644)
	first, _ := e.backup(src, nil)
	writeFile(t, filepath.Join(src, "old"), randBytes(200<<10, 2), 0o644)
	e.backup(src, first)

	open := func(now func() time.Time) *Repository {
		o := opts
		o.Now = now
		r, err := Open(ctx, be, pw, o)
		must(t, err)
		return r
	}
	// Forget the first snapshot while everything is retained: it is
	// forgotten (a record), and prune deletes nothing.
	r = open(past)
	l := lock(t, r, true)
	must(t, r.RemoveSnapshot(ctx, first.ID))
	snaps, err := r.Snapshots(ctx)
	if err != nil || len(snaps) != 1 {
		t.Fatalf("snapshots after forgetting a retained one: %d, %v", len(snaps), err)
	}
	rep, err := r.Prune(ctx, PruneOptions{MaxUnused: 0})
	must(t, err)
	must(t, l.Unlock())
	if rep.LockedKept == 0 || rep.FilesRemoved != 0 {
		t.Fatalf("prune under retention: kept %d locked, removed %d", rep.LockedKept, rep.FilesRemoved)
	}

	// Wait for the retention of everything written so far to run out:
	// the last file written (the first prune's index) lapses last.
	var last time.Time
	for _, ft := range backend.FileTypes {
		names := []string{""}
		if ft != backend.Config {
			names, err = backend.Names(ctx, be, ft)
			must(t, err)
		}
		for _, n := range names {
			ret, err := be.Retention(ctx, backend.Handle{Type: ft, Name: n})
			must(t, err)
			if ret.Until.After(last) {
				last = ret.Until
			}
		}
	}
	time.Sleep(time.Until(last) + 500*time.Millisecond)

	// check sees that the files in use are no longer protected.
	crep, err := open(time.Now).Check(ctx, CheckOptions{})
	must(t, err)
	if len(crep.RetentionShort) == 0 {
		t.Error("check after the lapse reports no file whose retention ran out")
	}

	// Maintenance with the real clock: the files in use get a full period
	// again; the forgotten snapshot and the data only it used are deleted.
	r = open(time.Now)
	l = lock(t, r, true)
	rep, err = r.Prune(ctx, PruneOptions{MaxUnused: 0})
	must(t, err)
	must(t, l.Unlock())
	if rep.LockedKept != 0 || rep.FilesRemoved == 0 || rep.RetainExtended == 0 {
		t.Errorf("prune after the lapse: %d kept locked, %d removed, %d extended", rep.LockedKept, rep.FilesRemoved, rep.RetainExtended)
	}
	if _, err := be.Stat(ctx, backend.Handle{Type: backend.Snapshot, Name: first.ID.String()}); err == nil {
		t.Error("the forgotten snapshot's file is still there")
	}
	for _, h := range []backend.Handle{{Type: backend.Config}, {Type: backend.Snapshot, Name: snaps[0].ID.String()}} {
		ret, err := be.Retention(ctx, h)
		if err != nil || ret.Until.Before(time.Now().Add(period-time.Minute)) {
			t.Errorf("%v in use: retention until %v (%v), want extended by a period", h, ret.Until, err)
		}
	}
	r = open(time.Now)
	crep, err = r.Check(ctx, CheckOptions{ReadData: true})
	must(t, err)
	if !crep.OK() || len(crep.RetentionShort) != 0 {
		t.Errorf("check after maintenance: %+v", crep)
	}
}
