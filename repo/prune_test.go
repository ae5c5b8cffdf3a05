package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/faulty"
	"github.com/cairn-backup/cairn/backend/local"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/pack"
	"github.com/cairn-backup/cairn/snapshot"
)

// fakeClock is the injected clock of these tests; nothing sleeps.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func openWithClock(t *testing.T, be backend.Backend, c *fakeClock) *Repository {
	t.Helper()
	opts := testOpts
	opts.Now = c.now
	r, err := Open(context.Background(), be, pw, opts)
	must(t, err)
	return r
}

func lock(t *testing.T, r *Repository, exclusive bool) *Lock {
	t.Helper()
	l, err := r.Lock(context.Background(), LockOptions{Exclusive: exclusive, NoRefresh: true})
	must(t, err)
	return l
}

func TestLocks(t *testing.T) {
	ctx := context.Background()
	be := mem0(t)
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	a, b := openWithClock(t, be, clock), openWithClock(t, be, clock)
	la := lock(t, a, false)
	lb := lock(t, b, false) // shared locks coexist
	_, err := a.Lock(ctx, LockOptions{Exclusive: true, NoRefresh: true})
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.PID != os.Getpid() || le.Holder.Exclusive {
		t.Fatalf("exclusive over shared: %v", err)
	}
	must(t, lb.Unlock())
	must(t, la.Unlock())
	ex := lock(t, a, true)
	if _, err := b.Lock(ctx, LockOptions{NoRefresh: true}); !errors.Is(err, ErrLocked) {
		t.Fatalf("shared over exclusive: %v", err)
	}
	// --retry-lock: waiting (on the fake clock) until the holder lets go.
	sleeps := 0
	l, err := b.Lock(ctx, LockOptions{NoRefresh: true, Retry: time.Minute, Sleep: func(d time.Duration) {
		sleeps++
		clock.advance(d)
		if sleeps == 3 {
			must(t, ex.Unlock())
		}
	}})
	if err != nil || sleeps != 3 {
		t.Fatalf("retry: %v after %d sleeps", err, sleeps)
	}
	must(t, l.Unlock())
	// A lock not refreshed for 30 minutes is stale and does not block.
	ex = lock(t, a, true)
	clock.advance(StaleAfter + time.Second)
	l = lock(t, b, true)
	if err := ex.Valid(); !errors.Is(err, ErrLockLost) {
		t.Errorf("an unrefreshed lock still claims to be valid: %v", err)
	}
	must(t, l.Unlock())
	n, _, err := b.RemoveLocks(ctx, false)
	if err != nil || n != 1 {
		t.Errorf("unlock removed %d stale locks (%v), want 1", n, err)
	}
	// Refreshing keeps a lock fresh; a refresh after a suspension fails.
	l = lock(t, a, false)
	for i := 0; i < 10; i++ {
		clock.advance(RefreshInterval)
		must(t, l.Refresh(ctx))
	}
	must(t, l.Valid())
	clock.advance(StaleAfter)
	if err := l.Refresh(ctx); !errors.Is(err, ErrLockLost) {
		t.Errorf("refresh after a suspension: %v", err)
	}
	must(t, l.Unlock())
	// A lock of this host whose process is gone is stale at once.
	dead := LockInfo{Time: clock.now(), Host: hostName(), PID: deadPID(t)}
	if !a.Stale(dead) {
		t.Error("lock of a dead process is not stale")
	}
	_ = lock(t, a, false)
	if n, _, _ := a.RemoveLocks(ctx, true); n != 1 {
		t.Errorf("unlock --remove-all removed %d locks, want 1", n)
	}
}

func hostName() string { h, _ := os.Hostname(); return h }

// deadPID returns the PID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	must(t, err)
	_, err = p.Wait()
	must(t, err)
	return p.Pid
}

func mem0(t *testing.T) backend.Backend {
	t.Helper()
	be, err := local.Open(t.TempDir())
	must(t, err)
	initRepo(t, be)
	return be
}

func TestDecodeLockRoundTrip(t *testing.T) {
	l := LockInfo{Time: time.Unix(1700000000, 5).UTC(), Exclusive: true, Host: "h", User: "u", PID: 42, UID: 1, GID: 2}
	got, err := DecodeLock(l.encode())
	if err != nil || got != l {
		t.Errorf("DecodeLock = %+v, %v", got, err)
	}
}

func FuzzDecodeLock(f *testing.F) {
	f.Add((&LockInfo{Time: time.Unix(1, 0), Host: "h", PID: 1}).encode())
	f.Add([]byte{8, 1})
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = DecodeLock(b) })
}

// pruneEnv has three snapshots of a changing tree.
type pruneEnv struct {
	*backupEnv
	dir   string
	src   string
	snaps []*snapshot.Snapshot
}

func newPruneEnv(t *testing.T) *pruneEnv {
	dir := t.TempDir()
	be, err := local.Open(dir)
	must(t, err)
	e := &pruneEnv{backupEnv: &backupEnv{t: t, be: be, r: initRepo(t, be)}, dir: dir, src: t.TempDir()}
	var parent *snapshot.Snapshot
	for gen := 0; gen < 3; gen++ {
		for i := 0; i < 12; i++ {
			if i%3 == gen || gen == 0 {
				writeFile(t, filepath.Join(e.src, fmt.Sprintf("f%02d", i)), randBytes(30<<10, uint64(gen*100+i)), 0o644)
			}
		}
		s, _ := e.backup(e.src, parent)
		e.snaps, parent = append(e.snaps, s), s
	}
	return e
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	must(t, filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fi, _ := d.Info()
			n += fi.Size()
		}
		return err
	}))
	return n
}

// restoreAll restores every snapshot in the repository into dir/<id>.
func restoreAll(t *testing.T, be backend.Backend, dir string) map[string]string {
	t.Helper()
	r, err := Open(context.Background(), be, pw, testOpts)
	must(t, err)
	snaps, err := r.Snapshots(context.Background())
	must(t, err)
	out := map[string]string{}
	for _, s := range snaps {
		target := filepath.Join(dir, s.ID.String())
		res := snapshot.NewRestorer(r, snapshot.RestoreOptions{Verify: true})
		sum, err := res.Restore(context.Background(), &snapshot.Node{Type: snapshot.TypeDir, Subtree: s.Tree}, "/", target)
		must(t, err)
		if len(sum.Failed) > 0 {
			t.Fatalf("snapshot %s restores with failures %v", s.ID.Short(), sum.Failed)
		}
		out[s.ID.String()] = describe(t, target)
	}
	return out
}

func TestPruneReclaimsSpace(t *testing.T) {
	ctx := context.Background()
	e := newPruneEnv(t)
	before := dirSize(t, e.dir)
	want := restoreAll(t, e.be, t.TempDir())
	must(t, e.r.RemoveSnapshot(ctx, e.snaps[0].ID))
	delete(want, e.snaps[0].ID.String())
	l := lock(t, e.r, true)
	dry, err := e.r.Prune(ctx, PruneOptions{DryRun: true})
	must(t, err)
	if dirSize(t, e.dir) != before {
		t.Fatal("dry run changed the repository")
	}
	rep, err := e.r.Prune(ctx, PruneOptions{})
	must(t, err)
	must(t, l.Unlock())
	if rep.PacksDeleted+rep.PacksRepacked == 0 || rep.BytesDeleted != dry.BytesDeleted {
		t.Errorf("prune report %+v, dry run %+v", rep, dry)
	}
	after := dirSize(t, e.dir)
	if after >= before || uint64(before-after) < rep.BytesDeleted-rep.BytesWritten-4096 {
		t.Errorf("repository went from %d to %d bytes; prune reported %d deleted", before, after, rep.BytesDeleted)
	}
	// No pack is left with more than 5% unused.
	again := lock(t, e.r, true)
	rep2, err := e.r.Prune(ctx, PruneOptions{DryRun: true})
	must(t, err)
	must(t, again.Unlock())
	if rep2.PacksDeleted+rep2.PacksRepacked != 0 {
		t.Errorf("after prune, a second prune would still delete %d and repack %d packs", rep2.PacksDeleted, rep2.PacksRepacked)
	}
	got := restoreAll(t, e.be, t.TempDir())
	for id, w := range want {
		if got[id] != w {
			t.Errorf("snapshot %s changed after prune", id[:8])
		}
	}
	if rep := (&damageEnv{backupEnv: e.backupEnv}).check(CheckOptions{ReadData: true}); !rep.OK() || len(rep.UnindexedPacks) != 0 {
		t.Errorf("check after prune: %+v %+v unindexed %v", rep.Problems, rep.Damage, rep.UnindexedPacks)
	}
}

// copyTree copies a repository directory.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	must(t, filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o400)
	}))
}

// TestPruneKilledAtEveryStep crashes prune after each of its writes and
// deletions in turn. Every time, every kept snapshot restores unchanged,
// check finds no damage, and a second prune completes.
func TestPruneKilledAtEveryStep(t *testing.T) {
	ctx := context.Background()
	e := newPruneEnv(t)
	must(t, e.r.RemoveSnapshot(ctx, e.snaps[0].ID))
	want := restoreAll(t, e.be, t.TempDir())
	// Count the mutations of a clean run.
	probeDir := t.TempDir()
	copyTree(t, e.dir, probeDir)
	probeBe, _ := local.Open(probeDir)
	counter := faulty.New(probeBe, faulty.Config{})
	r, err := Open(ctx, counter, pw, testOpts)
	must(t, err)
	l := lock(t, r, true)
	prep, err := r.Prune(ctx, PruneOptions{MaxUnused: 1})
	must(t, err)
	t.Logf("prune: %+v", prep)
	must(t, l.Unlock())
	steps := counter.Mutations()
	t.Logf("a clean prune makes %d mutations (lock and unlock included)", steps)
	if steps < 8 || prep.PacksRepacked == 0 || prep.PacksDeleted+prep.PacksRepacked < 3 {
		t.Fatalf("a prune made only %d mutations", steps)
	}
	// The last mutation is the unlock; crash before each of the others.
	for crash := 1; crash < steps-1; crash++ {
		dir := t.TempDir()
		copyTree(t, e.dir, dir)
		be, _ := local.Open(dir)
		fb := faulty.New(be, faulty.Config{CrashAfter: crash})
		r, err := Open(ctx, fb, pw, testOpts)
		must(t, err)
		l, err := r.Lock(ctx, LockOptions{Exclusive: true, NoRefresh: true})
		if err != nil {
			continue // the crash hit while taking the lock
		}
		if _, err := r.Prune(ctx, PruneOptions{MaxUnused: 1}); !errors.Is(err, faulty.ErrInjected) {
			t.Fatalf("crash after %d mutations: prune returned %v", crash, err)
		}
		_ = l
		// The killed process leaves its lock; the user runs unlock.
		r2, err := Open(ctx, be, pw, testOpts)
		must(t, err)
		_, _, _ = r2.RemoveLocks(ctx, true)
		got := restoreAll(t, be, t.TempDir())
		for id, w := range want {
			if got[id] != w {
				t.Fatalf("crash after %d of %d mutations: snapshot %s damaged", crash, steps, id[:8])
			}
		}
		if rep := (&damageEnv{backupEnv: &backupEnv{t: t, be: be}}).check(CheckOptions{}); len(rep.Damage) != 0 || len(rep.Problems) != 0 {
			t.Fatalf("crash after %d mutations: check finds %+v %+v", crash, rep.Problems, rep.Damage)
		}
		l2 := lock(t, r2, true)
		if _, err := r2.Prune(ctx, PruneOptions{MaxUnused: 1}); err != nil {
			t.Fatalf("crash after %d mutations: second prune: %v", crash, err)
		}
		must(t, l2.Unlock())
		if rep := (&damageEnv{backupEnv: &backupEnv{t: t, be: be}}).check(CheckOptions{ReadData: true}); !rep.OK() {
			t.Fatalf("crash after %d mutations, then prune: check finds %+v %+v", crash, rep.Problems, rep.Damage)
		}
	}
}

// A backup whose lock went stale while it was suspended must not write
// its snapshot after a prune ran meanwhile.
func TestStaleBackupAfterPrune(t *testing.T) {
	ctx := context.Background()
	e := newPruneEnv(t)
	clock := &fakeClock{t: time.Now()}
	backupRepo := openWithClock(t, e.be, clock)
	bl := lock(t, backupRepo, false)
	writeFile(t, filepath.Join(e.src, "new"), randBytes(50<<10, 4242), 0o644)
	a := snapshot.NewArchiver(backupRepo, snapshot.ArchiverOptions{Chunker: backupRepo.Config().Chunker})
	paths, _ := snapshot.CleanPaths([]string{e.src})
	tree, sum, err := a.Run(ctx, paths, e.snaps[2].Tree)
	must(t, err)
	// The laptop sleeps for an hour; meanwhile all old snapshots are
	// forgotten and pruned, which deletes data the backup deduplicated.
	clock.advance(time.Hour)
	pruner := openWithClock(t, e.be, clock)
	pl := lock(t, pruner, true)
	for _, s := range e.snaps[:2] {
		must(t, pruner.RemoveSnapshot(ctx, s.ID))
	}
	if _, err := pruner.Prune(ctx, PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	must(t, pl.Unlock())
	// The backup wakes up.
	if err := backupRepo.Flush(ctx); !errors.Is(err, ErrLockLost) {
		t.Errorf("flush after the lock went stale: %v", err)
	}
	s := &snapshot.Snapshot{Time: clock.now(), Tree: tree, Paths: paths, Summary: sum}
	if err := backupRepo.SaveSnapshot(ctx, s); !errors.Is(err, ErrLockLost) {
		t.Fatalf("snapshot written after the lock went stale: %v", err)
	}
	_ = bl.Unlock()
	snaps, err := pruner.Snapshots(ctx)
	must(t, err)
	if len(snaps) != 1 || snaps[0].ID != e.snaps[2].ID {
		t.Errorf("snapshots after prune: %d", len(snaps))
	}
	if rep := (&damageEnv{backupEnv: e.backupEnv}).check(CheckOptions{ReadData: true}); len(rep.Damage) != 0 {
		t.Errorf("the kept snapshot lost data: %+v", rep.Damage)
	}
}

func TestPruneRefusesDamage(t *testing.T) {
	ctx := context.Background()
	e := newDamageEnv(t)
	must(t, os.Remove(e.packFiles(blob.Data)[0]))
	r, err := Open(ctx, e.be, pw, testOpts)
	must(t, err)
	l := lock(t, r, true)
	defer func() { _ = l.Unlock() }()
	before := mustNames(t, e.be, backend.Pack)
	_, err = r.Prune(ctx, PruneOptions{})
	if !errors.Is(err, ErrNeedsRepair) || !strings.Contains(err.Error(), "cairn check") {
		t.Errorf("prune on a damaged repository: %v", err)
	}
	if after := mustNames(t, e.be, backend.Pack); len(after) != len(before) {
		t.Error("prune deleted packs in a damaged repository")
	}
	if _, err := (&Repository{}).Prune(ctx, PruneOptions{}); err == nil {
		t.Error("prune without an exclusive lock ran")
	}
}

// TestLockThenLoad: a command that waited for prune's lock, or opened the
// repository before prune ran, works from the index prune left, not from
// the one it read before: every blob of the kept snapshot still loads.
func TestLockThenLoad(t *testing.T) {
	ctx := context.Background()
	for _, deferIndex := range []bool{false, true} {
		t.Run(fmt.Sprintf("defer=%v", deferIndex), func(t *testing.T) {
			e := newPruneEnv(t)
			// The reader opens (and, without DeferIndex, loads the index) now.
			opts := testOpts
			opts.DeferIndex = deferIndex
			reader, err := Open(ctx, e.be, pw, opts)
			must(t, err)
			pruner, err := Open(ctx, e.be, pw, testOpts)
			must(t, err)
			pl := lock(t, pruner, true)
			for _, s := range e.snaps[:2] {
				must(t, pruner.RemoveSnapshot(ctx, s.ID))
			}
			sleeps := 0
			l, err := reader.Lock(ctx, LockOptions{NoRefresh: true, Retry: time.Hour, Sleep: func(time.Duration) {
				sleeps++
				if sleeps == 1 { // prune runs while the reader waits
					rep, err := pruner.Prune(ctx, PruneOptions{MaxUnused: 0})
					must(t, err)
					if rep.PacksDeleted == 0 {
						t.Error("prune deleted no packs: the test proves nothing")
					}
					must(t, pl.Unlock())
				}
			}})
			must(t, err)
			defer l.Unlock()
			if sleeps == 0 {
				t.Fatal("the reader did not wait for prune's lock")
			}
			s := e.snaps[2]
			err = snapshot.Walk(ctx, reader, s.Tree, "/", nil, func(p string, n *snapshot.Node) error {
				for _, id := range n.Content {
					if _, err := reader.LoadBlob(ctx, blob.Handle{Type: blob.Data, ID: id}); err != nil {
						return fmt.Errorf("%s: %w", p, err)
					}
				}
				return nil
			})
			must(t, err)
		})
	}
}

func TestParseMaxUnused(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0", 0, true}, {"0%", 0, true}, {"5%", 5, true}, {"100%", 100, true}, {"unlimited", 100, true},
		{"2.5%", 2.5, true}, {"-1%", 0, false}, {"101%", 0, false}, {"5", 0, false}, {"", 0, false}, {"abc", 0, false},
	} {
		got, err := ParseMaxUnused(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseMaxUnused(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// The case: prune --retry-lock waits for a running backup, then
// prunes. It must see the backup's new snapshot and index, not report the
// repository as damaged or delete the new data.
func TestPruneAfterWaitingForBackup(t *testing.T) {
	ctx := context.Background()
	e := newPruneEnv(t)
	pruner, err := Open(ctx, e.be, pw, testOpts) // index loaded now
	must(t, err)
	backer, err := Open(ctx, e.be, pw, testOpts)
	must(t, err)
	bl := lock(t, backer, false)
	writeFile(t, filepath.Join(e.src, "new-file"), randBytes(200<<10, 999), 0o644)
	sleeps := 0
	l, err := pruner.Lock(ctx, LockOptions{Exclusive: true, NoRefresh: true, Retry: time.Hour, Sleep: func(time.Duration) {
		sleeps++
		if sleeps == 1 { // the backup finishes while prune waits
			be := &backupEnv{t: t, be: e.be, r: backer}
			s, _ := be.backup(e.src, nil)
			e.snaps = append(e.snaps, s)
			must(t, bl.Unlock())
		}
	}})
	must(t, err)
	if sleeps == 0 {
		t.Fatal("prune did not wait for the backup's lock")
	}
	if _, err := pruner.Prune(ctx, PruneOptions{MaxUnused: 0}); err != nil {
		t.Fatalf("prune after waiting: %v", err)
	}
	must(t, l.Unlock())
	got := restoreAll(t, e.be, t.TempDir())
	if len(got) != 4 {
		t.Errorf("%d snapshots restore after prune, want 4", len(got))
	}
}

// A handle kept open across commands (a run's steps) reads the index
// afresh when another command changed the index files, and keeps it when
// only its own writes did.
func TestLockRefreshesAStaleIndex(t *testing.T) {
	ctx := context.Background()
	e := newPruneEnv(t)
	kept, err := Open(ctx, e.be, pw, testOpts)
	must(t, err)
	l := lock(t, kept, false)
	must(t, l.Unlock())
	// Another command prunes away the first two snapshots' data.
	other, err := Open(ctx, e.be, pw, testOpts)
	must(t, err)
	ol := lock(t, other, true)
	for _, s := range e.snaps[:2] {
		must(t, other.RemoveSnapshot(ctx, s.ID))
	}
	if _, err := other.Prune(ctx, PruneOptions{MaxUnused: 0}); err != nil {
		t.Fatal(err)
	}
	must(t, ol.Unlock())
	// The kept handle locks again without waiting: its index is refreshed.
	l = lock(t, kept, false)
	defer l.Unlock()
	if fresh, err := kept.RefreshIndex(ctx); err != nil || fresh {
		t.Errorf("a second refresh reloaded again (%v, %v): Lock did not refresh", fresh, err)
	}
	err = snapshot.Walk(ctx, kept, e.snaps[2].Tree, "/", nil, func(p string, n *snapshot.Node) error {
		for _, id := range n.Content {
			if _, err := kept.LoadBlob(ctx, blob.Handle{Type: blob.Data, ID: id}); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		return nil
	})
	must(t, err)
}

// prune with RepackSmall merges the partly filled packs each backup
// leaves into fewer packs, and every snapshot still restores.
func TestPruneRepackSmall(t *testing.T) {
	ctx := context.Background()
	e := newPruneEnv(t) // three backups, each leaving a partial data pack
	before := restoreAll(t, e.be, t.TempDir())
	packsBefore := len(mustNames(t, e.be, backend.Pack))
	r, err := Open(ctx, e.be, pw, testOpts)
	must(t, err)
	l := lock(t, r, true)
	rep, err := r.Prune(ctx, PruneOptions{MaxUnused: 100, RepackSmall: true})
	must(t, err)
	must(t, l.Unlock())
	if rep.PacksRepacked < 2 {
		t.Errorf("repacked %d small packs, want at least 2", rep.PacksRepacked)
	}
	if after := len(mustNames(t, e.be, backend.Pack)); after >= packsBefore {
		t.Errorf("%d packs after repacking small ones, %d before", after, packsBefore)
	}
	after := restoreAll(t, e.be, t.TempDir())
	for id, d := range before {
		if after[id] != d {
			t.Errorf("snapshot %s restores differently after repacking", id[:8])
		}
	}
}

// prune with RepackUncompressed compresses what was stored with
// compression off, and every snapshot still restores.
func TestPruneRepackUncompressed(t *testing.T) {
	ctx := context.Background()
	be, err := local.Open(t.TempDir())
	must(t, err)
	off := testOpts
	off.Compression = pack.CompressionOff
	r, err := Init(ctx, be, pw, off)
	must(t, err)
	e := &backupEnv{t: t, be: be, r: r}
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "text"), bytes.Repeat([]byte("compress me, please. "), 20000), 0o644)
	e.backup(src, nil)
	// Data blobs: the tree blobs of this test are too small to shrink.
	stored := func() (raw, compressed int) {
		r, err := Open(ctx, be, pw, testOpts)
		must(t, err)
		r.Index().Each(blob.Data, func(id blob.ID) {
			loc, _ := r.Index().Lookup(blob.Handle{Type: blob.Data, ID: id})
			if loc.Entry.Compressed {
				compressed++
			} else {
				raw++
			}
		})
		return
	}
	if raw, _ := stored(); raw == 0 {
		t.Fatal("compression off stored no blob uncompressed")
	}
	before := restoreAll(t, be, t.TempDir())

	offRepo, err := Open(ctx, be, pw, off)
	must(t, err)
	l := lock(t, offRepo, true)
	if _, err := offRepo.Prune(ctx, PruneOptions{MaxUnused: 100, RepackUncompressed: true}); err == nil {
		t.Error("RepackUncompressed with compression off was accepted")
	}
	must(t, l.Unlock())

	auto, err := Open(ctx, be, pw, testOpts)
	must(t, err)
	l = lock(t, auto, true)
	rep, err := auto.Prune(ctx, PruneOptions{MaxUnused: 100, RepackUncompressed: true})
	must(t, err)
	must(t, l.Unlock())
	if rep.PacksRepacked == 0 {
		t.Errorf("repacked %d packs", rep.PacksRepacked)
	}
	// A second run finds nothing left to compress.
	l = lock(t, auto, true)
	rep, err = auto.Prune(ctx, PruneOptions{MaxUnused: 100, RepackUncompressed: true})
	must(t, err)
	must(t, l.Unlock())
	if rep.PacksRepacked != 0 {
		t.Errorf("second run repacked %d packs", rep.PacksRepacked)
	}
	if raw, compressed := stored(); raw != 0 || compressed == 0 {
		t.Errorf("after repacking: %d blobs uncompressed, %d compressed", raw, compressed)
	}
	after := restoreAll(t, be, t.TempDir())
	for id, d := range before {
		if after[id] != d {
			t.Errorf("snapshot %s restores differently after repacking", id[:8])
		}
	}
}
