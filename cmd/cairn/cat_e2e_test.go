package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/backend/local"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/repo"
)

// TestCatSnapshotTreeLockRecord: cat shows snapshots, trees (by snapshot
// and path, or by ID), lock files and records as restic users expect.
func TestCatSnapshotTreeLockRecord(t *testing.T) {
	env, repoDir, src := smallPackRepo(t, 3)
	var snap message.Snapshot
	if err := json.Unmarshal([]byte(mustRun(t, env, "cat", "snapshot", "latest")), &snap); err != nil || snap.Tree == "" {
		t.Fatalf("cat snapshot: %+v, %v", snap, err)
	}
	var tr message.Tree
	if err := json.Unmarshal([]byte(mustRun(t, env, "cat", "tree", "latest:"+src)), &tr); err != nil || len(tr.Nodes) == 0 {
		t.Fatalf("cat tree: %+v, %v", tr, err)
	}
	var root message.Tree
	if err := json.Unmarshal([]byte(mustRun(t, env, "cat", "tree", snap.Tree)), &root); err != nil || root.ID != snap.Tree {
		t.Errorf("cat tree by ID: %+v, %v", root, err)
	}
	if r := cairn(t, env, "cat", "tree", "latest:/no/such/dir"); r.code != 1 || !strings.Contains(r.stderr, "no such path") {
		t.Errorf("cat tree of a missing path: exit %d %s", r.code, r.stderr)
	}
	// A lock and a drill record, written through the library.
	ctx := context.Background()
	be, err := local.Open(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte("pw"), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := r.Lock(ctx, repo.LockOptions{NoRefresh: true})
	if err != nil {
		t.Fatal(err)
	}
	name, err := r.SaveJSONRecord(ctx, repo.KindDrill, map[string]string{"source": "docs"})
	if err != nil {
		t.Fatal(err)
	}
	var lk message.Lock
	if err := json.Unmarshal([]byte(mustRun(t, env, "cat", "lock", l.Info().Name[:8])), &lk); err != nil || lk.PID != os.Getpid() {
		t.Errorf("cat lock: %+v, %v", lk, err)
	}
	_ = l.Unlock()
	var rec message.Record
	if err := json.Unmarshal([]byte(mustRun(t, env, "cat", "record", name[:8])), &rec); err != nil || rec.Kind != int(repo.KindDrill) {
		t.Errorf("cat record: %+v, %v", rec, err)
	}
	if doc, _ := json.Marshal(rec.Document); string(doc) != `{"source":"docs"}` {
		t.Errorf("record document %s", doc)
	}
}

// A subcommand lists its own flags under Flags, not Global Flags.
func TestScheduleFlagsAreTheirOwn(t *testing.T) {
	out := mustRun(t, nil, "schedule", "install", "--help")
	own, global, _ := strings.Cut(out, "Global Flags:")
	if !strings.Contains(own, "--user") || strings.Contains(global, "--user") {
		t.Errorf("schedule install --help:\n%s", out)
	}
}
