package repo

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/faulty"
	"github.com/cairn-backup/cairn/backend/local"
	"github.com/cairn-backup/cairn/snapshot"
)

func TestCopy(t *testing.T) {
	ctx := context.Background()
	e := newPruneEnv(t) // three snapshots
	want := restoreAll(t, e.be, t.TempDir())
	for _, shared := range []bool{false, true} {
		dstDir := t.TempDir()
		dstBe, _ := local.Open(dstDir)
		opts := testOpts
		if shared {
			opts.From = e.r
		}
		dst, err := Init(ctx, dstBe, []byte("other password"), opts)
		must(t, err)
		if got := dst.Config().Chunker == e.r.Config().Chunker; got != shared {
			t.Errorf("shared=%v: chunker shared %v", shared, got)
		}
		// A copy killed partway, then run again, finishes.
		crashing, err := Open(ctx, faulty.New(dstBe, faulty.Config{CrashAfter: 3}), []byte("other password"), testOpts)
		must(t, err)
		if _, err := Copy(ctx, e.r, crashing, e.snaps, nil); !errors.Is(err, faulty.ErrInjected) {
			t.Fatalf("crashing copy: %v", err)
		}
		dst, err = Open(ctx, dstBe, []byte("other password"), testOpts)
		must(t, err)
		rep, err := Copy(ctx, e.r, dst, e.snaps, nil)
		must(t, err)
		if len(rep.Copied)+rep.Skipped != 3 {
			t.Errorf("shared=%v: copied %d, skipped %d", shared, len(rep.Copied), rep.Skipped)
		}
		again, err := Copy(ctx, e.r, dst, e.snaps, nil)
		must(t, err)
		if len(again.Copied) != 0 || again.Skipped != 3 || again.BlobsCopied != 0 {
			t.Errorf("second copy: %+v", again)
		}
		// Every copied snapshot restores like its original.
		dstEnv := &backupEnv{t: t, be: dstBe}
		got := map[string]string{}
		snaps, _ := dst.Snapshots(ctx)
		for _, s := range snaps {
			target := filepath.Join(t.TempDir(), "r")
			dstEnv.r = dst
			res := snapshot.NewRestorer(dst, snapshot.RestoreOptions{Verify: true})
			if _, err := res.Restore(ctx, &snapshot.Node{Type: snapshot.TypeDir, Subtree: s.Tree}, "/", target); err != nil {
				t.Fatal(err)
			}
			got[SnapshotKey(s).String()] = describe(t, target)
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("shared=%v: copy of %s differs", shared, id[:8])
			}
		}
		if rep := (&damageEnv{backupEnv: &backupEnv{t: t, be: dstBe}}).checkPw(CheckOptions{ReadData: true}, []byte("other password")); !rep.OK() {
			t.Errorf("destination does not check clean: %+v %+v", rep.Problems, rep.Damage)
		}
	}
}

// A listing that fails halfway makes prune stop before deleting anything.
func TestPruneListFailsHalfway(t *testing.T) {
	ctx := context.Background()
	e := newPruneEnv(t)
	must(t, e.r.RemoveSnapshot(ctx, e.snaps[0].ID))
	before := mustNames(t, e.be, backend.Pack)
	r, err := Open(ctx, e.be, pw, testOpts)
	must(t, err)
	l := lock(t, r, true)
	r.be = faulty.New(e.be, faulty.Config{ListFailAfter: 2})
	defer func() { _ = l.Unlock() }()
	if _, err := r.Prune(ctx, PruneOptions{}); !errors.Is(err, faulty.ErrInjected) {
		t.Errorf("prune with a broken listing: %v", err)
	}
	if after := mustNames(t, e.be, backend.Pack); len(after) != len(before) {
		t.Errorf("prune deleted %d packs despite the broken listing", len(before)-len(after))
	}
}
