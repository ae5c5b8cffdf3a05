package repo

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/faulty"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/snapshot"
)

func TestPurgeRecordRoundTrip(t *testing.T) {
	hs := []blob.Handle{{Type: blob.Data, ID: blob.ID{1}}, {Type: blob.Tree, ID: blob.ID{2}}}
	got, err := decodePurge(encodePurge(hs))
	if err != nil || len(got) != 2 || got[0] != hs[0] || got[1] != hs[1] {
		t.Fatalf("decodePurge(encodePurge(%v)) = %v, %v", hs, got, err)
	}
	for _, bad := range [][]byte{nil, {2, 0, 0, 0, 0}, {1, 1, 0, 0, 0}, append([]byte{1, 1, 0, 0, 0, 9}, make([]byte, 32)...)} {
		if _, err := decodePurge(bad); err == nil {
			t.Errorf("decodePurge(%x) accepted", bad)
		}
	}
}

func FuzzDecodePurge(f *testing.F) {
	f.Add(encodePurge([]blob.Handle{{Type: blob.Data, ID: blob.ID{1}}}))
	f.Add([]byte{1, 255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := decodePurge(b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodePurge(hs), b) {
			t.Errorf("re-encoding %d handles differs", len(hs))
		}
	})
}

// TestPurgeSurvivesKills kills "rewrite --forget" after each of its
// writes and deletions in turn (a backend that fails every call after the
// k-th, as a killed process makes none), then clears the dead lock and
// prunes: nothing a snapshot references is ever lost (check --read-data
// passes), the secret stays exactly while a snapshot still names it, and
// once the purge record is stored, forgetting the originals the kill left
// and pruning removes it for good. A kill before the record leaves both
// snapshots and no record: the rewrite must be run again.
func TestPurgeSurvivesKills(t *testing.T) {
	ctx := context.Background()
	secret := []byte("the password backed up by mistake")
	for k := 1; ; k++ {
		e := newBackupEnv(t)
		src := t.TempDir()
		writeFile(t, filepath.Join(src, "keep.txt"), randBytes(20<<10, 1), 0o644)
		writeFile(t, filepath.Join(src, ".env"), secret, 0o600)
		first, _ := e.backup(src, nil)
		writeFile(t, filepath.Join(src, "more.txt"), randBytes(20<<10, 2), 0o644)
		second, _ := e.backup(src, first)
		secretBlob := blob.Handle{Type: blob.Data, ID: e.r.BlobID(secret)}

		killed, err := Open(ctx, faulty.New(e.be, faulty.Config{CrashAfter: k}), pw, testOpts)
		must(t, err)
		f, err := snapshot.NewFilter(snapshot.FilterSpec{Excludes: []string{".env"}})
		must(t, err)
		_, lerr := killed.Lock(ctx, LockOptions{Exclusive: true, NoRefresh: true})
		var rerr error
		if lerr == nil {
			_, rerr = killed.RewriteSnapshots(ctx, []*snapshot.Snapshot{first, second}, RewriteOptions{Forget: true,
				Exclude: func(p string, n *snapshot.Node) bool { return f.Match(p, n.Type == snapshot.TypeDir) }})
		}
		done := lerr == nil && rerr == nil

		r, err := Open(ctx, e.be, pw, testOpts)
		must(t, err)
		_, _, err = r.RemoveLocks(ctx, true) // the killed command's lock
		must(t, err)
		recs, err := r.purgeRecords(ctx)
		must(t, err)
		prune := func(stage string) {
			t.Helper()
			l := lock(t, r, true)
			_, err := r.Prune(ctx, PruneOptions{MaxUnused: 5})
			must(t, err)
			must(t, l.Unlock())
			rep, err := r.Check(ctx, CheckOptions{ReadData: true})
			must(t, err)
			if !rep.OK() {
				t.Fatalf("kill after %d writes, %s: check finds %+v %+v", k, stage, rep.Problems, rep.Damage)
			}
		}
		prune("after the kill")
		snaps, err := r.Snapshots(ctx)
		must(t, err)
		var originals []*snapshot.Snapshot
		for _, s := range snaps {
			if !s.HasTag("rewrite") {
				originals = append(originals, s)
			}
		}
		if indexed := r.HasBlob(secretBlob); indexed != (len(originals) > 0) {
			t.Fatalf("kill after %d writes: %d originals left, the secret indexed %v", k, len(originals), indexed)
		}
		if len(recs) > 0 && len(originals) < len(snaps) {
			for _, s := range originals {
				must(t, r.RemoveSnapshot(ctx, s.ID))
			}
			prune("after forgetting the originals the kill left")
			if r.HasBlob(secretBlob) {
				t.Fatalf("kill after %d writes: the purge record was stored, yet the secret stays after the originals went", k)
			}
		}
		if done {
			if k < 3 {
				t.Fatalf("the rewrite finished after %d writes: the test explored nothing", k)
			}
			return
		}
	}
}

// A damaged purge record is named and left out: prune runs all the same.
func TestDamagedPurgeRecord(t *testing.T) {
	ctx := context.Background()
	e := newBackupEnv(t)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a.txt"), randBytes(4<<10, 3), 0o644)
	e.backup(src, nil)
	_, err := e.r.SaveFile(ctx, backend.Record, KindPurge, []byte{9, 9, 9})
	must(t, err)
	var warned []error
	opts := testOpts
	opts.Warn = func(err error) { warned = append(warned, err) }
	r, err := Open(ctx, e.be, pw, opts)
	must(t, err)
	l := lock(t, r, true)
	if _, err := r.Prune(ctx, PruneOptions{}); err != nil {
		t.Fatalf("prune with a damaged purge record: %v", err)
	}
	must(t, l.Unlock())
	if len(warned) != 1 || !strings.Contains(warned[0].Error(), "purge record") {
		t.Errorf("warnings %v, want the damaged purge record named", warned)
	}
}
