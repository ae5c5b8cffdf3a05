package repo

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/snapshot"
)

func TestRewriteSnapshots(t *testing.T) {
	ctx := context.Background()
	e := newBackupEnv(t)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "keep.txt"), []byte("keep me"), 0o644)
	writeFile(t, filepath.Join(src, "secret", "password"), []byte("hunter2"), 0o600)
	writeFile(t, filepath.Join(src, "sub", "id.key"), []byte("private key"), 0o600)
	writeFile(t, filepath.Join(src, "sub", "notes.md"), []byte("notes"), 0o644)
	s, sum := e.backup(src, nil)
	if sum.TotalFilesProcessed != 4 {
		t.Fatalf("backup summary %+v", sum)
	}
	exclude := func(pats ...string) func(string, *snapshot.Node) bool {
		f, err := snapshot.NewFilter(snapshot.FilterSpec{Excludes: pats})
		must(t, err)
		return func(p string, n *snapshot.Node) bool { return f.Match(p, n.Type == snapshot.TypeDir) }
	}
	var removed []string
	onRemoved := func(_ *snapshot.Snapshot, p, why string) {
		removed = append(removed, strings.TrimPrefix(p, src)+" "+why)
	}

	// A dry run names what would go and changes nothing.
	out, err := e.r.RewriteSnapshots(ctx, []*snapshot.Snapshot{s}, RewriteOptions{DryRun: true, Exclude: exclude("secret/", "*.key"), OnRemoved: onRemoved})
	must(t, err)
	if len(out) != 1 || strings.Join(removed, ",") != "/secret excluded,/sub/id.key excluded" {
		t.Fatalf("dry run: %d snapshots, removed %q", len(out), removed)
	}
	if snaps, _ := e.r.Snapshots(ctx); len(snaps) != 1 {
		t.Fatalf("a dry run saved snapshots: %d", len(snaps))
	}

	// The real run saves a new snapshot without them, tagged and naming
	// the original, with its totals adjusted, and --forget removes the old.
	removed = nil
	out, err = e.r.RewriteSnapshots(ctx, []*snapshot.Snapshot{s}, RewriteOptions{Forget: true, Exclude: exclude("secret/", "*.key"), OnRemoved: onRemoved})
	must(t, err)
	ns := out[0]
	if ns.Original != s.ID || !ns.HasTag("rewrite") || ns.Summary.TotalFilesProcessed != 2 || ns.Summary.TotalBytesProcessed != uint64(len("keep me")+len("notes")) {
		t.Errorf("new snapshot %+v, summary %+v", ns, ns.Summary)
	}
	snaps, err := e.r.Snapshots(ctx)
	must(t, err)
	if len(snaps) != 1 || snaps[0].ID != ns.ID {
		t.Fatalf("snapshots after --forget: %v, want only %s", snaps, ns.ID.Short())
	}
	var paths []string
	must(t, snapshot.Walk(ctx, e.r, ns.Tree, "/", nil, func(p string, n *snapshot.Node) error {
		if n.Type == snapshot.TypeFile {
			paths = append(paths, strings.TrimPrefix(p, src))
		}
		return nil
	}))
	if strings.Join(paths, ",") != "/keep.txt,/sub/notes.md" {
		t.Errorf("files in the rewritten snapshot: %v", paths)
	}

	// Nothing left to exclude: no new snapshot. A new host and time are a
	// change of their own.
	out, err = e.r.RewriteSnapshots(ctx, []*snapshot.Snapshot{ns}, RewriteOptions{Exclude: exclude("*.key")})
	if err != nil || len(out) != 0 {
		t.Errorf("second rewrite: %d snapshots, %v; want none", len(out), err)
	}
	when := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	out, err = e.r.RewriteSnapshots(ctx, []*snapshot.Snapshot{ns}, RewriteOptions{Host: "renamed", Time: when})
	if err != nil || len(out) != 1 || out[0].Host != "renamed" || !out[0].Time.Equal(when) || out[0].Tree != ns.Tree {
		t.Errorf("host and time rewrite: %v %v", out, err)
	}

	// --snapshot-summary gives a snapshot without a summary one.
	bare := *ns
	bare.Summary, bare.Tags = nil, nil
	must(t, e.r.SaveSnapshot(ctx, &bare))
	out, err = e.r.RewriteSnapshots(ctx, []*snapshot.Snapshot{&bare}, RewriteOptions{Summary: true})
	if err != nil || len(out) != 1 || out[0].Summary == nil || out[0].Summary.TotalFilesProcessed != 2 {
		t.Errorf("summary rewrite: %v %v", out, err)
	}

	// A tree that cannot be read stops the rewrite with a pointer to repair.
	sub := e.node(ns, src+"/sub")
	loc, ok := e.r.Index().Lookup(blob.Handle{Type: blob.Tree, ID: sub.Subtree})
	if !ok {
		t.Fatal("subtree not indexed")
	}
	must(t, e.be.Remove(ctx, backend.Handle{Type: backend.Pack, Name: loc.Pack.String()}))
	fresh, err := Open(ctx, e.be, pw, testOpts)
	must(t, err)
	_, err = fresh.RewriteSnapshots(ctx, []*snapshot.Snapshot{ns}, RewriteOptions{Exclude: exclude("nothing")})
	if err == nil || !strings.Contains(err.Error(), "repair snapshots") || errors.Is(err, context.Canceled) {
		t.Errorf("rewrite of a damaged snapshot: %v", err)
	}
}
