//go:build linux

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/message"
)

// TestRewriteRemovesAFileForGood: a password backed up by mistake is
// removed from every snapshot with rewrite --exclude --forget, and after
// prune no blob of the repository holds it.
func TestRewriteRemovesAFileForGood(t *testing.T) {
	env := repoEnv(t)
	src := t.TempDir()
	secret := "very secret password " + strings.Repeat("x", 64)
	for name, data := range map[string]string{"app/main.go": "package main", "app/.env": secret, "README": "hello"} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, env, "backup", src)
	mustRun(t, env, "backup", "--tag", "second", src)

	if r := cairn(t, env, "rewrite"); r.code != 1 || !strings.Contains(r.stderr, "nothing to rewrite") {
		t.Errorf("rewrite without a change: exit %d\n%s", r.code, r.stderr)
	}
	dry := mustRun(t, env, "rewrite", "--exclude", ".env", "--dry-run")
	if !strings.Contains(dry, "would rewrite 2 of 2 snapshots, leaving out 2 entries") {
		t.Errorf("dry run said:\n%s", dry)
	}
	var sum message.RewriteSummary
	out := mustRun(t, env, "rewrite", "--exclude", ".env", "--forget", "--json")
	if err := strictJSON(out, &sum); err != nil || sum.Rewritten != 2 || sum.EntriesRemoved != 2 || len(sum.NewSnapshots) != 2 || sum.Forgotten != 2 {
		t.Fatalf("rewrite --json: %v %+v\n%s", err, sum, out)
	}
	var snaps []message.Snapshot
	if err := json.Unmarshal([]byte(mustRun(t, env, "snapshots", "--json")), &snaps); err != nil || len(snaps) != 2 {
		t.Fatalf("snapshots after rewrite --forget: %v %d", err, len(snaps))
	}
	for _, s := range snaps {
		if !strings.Contains(strings.Join(s.Tags, ","), "rewrite") || s.Original == "" || s.Summary == nil || s.Summary.TotalFilesProcessed != 2 {
			t.Errorf("rewritten snapshot %+v", s)
		}
	}
	if found := mustRun(t, env, "find", ".env"); strings.Contains(found, ".env") {
		t.Errorf("find still finds the file:\n%s", found)
	}
	mustRun(t, env, "prune", "--max-unused", "0")
	var blobs []string
	for _, line := range strings.Split(strings.TrimSpace(mustRun(t, env, "list", "blobs")), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "data" {
			blobs = append(blobs, f[1])
		}
	}
	if len(blobs) == 0 {
		t.Fatal("list blobs listed no data blob")
	}
	for _, id := range blobs {
		if strings.Contains(mustRun(t, env, "cat", "blob", id), "very secret") {
			t.Errorf("blob %s still holds the secret after rewrite and prune", id[:8])
		}
	}
	mustRun(t, env, "check", "--read-data")
	target := t.TempDir()
	mustRun(t, env, "restore", "latest", "--target", target)
	if _, err := os.Stat(filepath.Join(target, src, "app", ".env")); !os.IsNotExist(err) {
		t.Errorf("restored .env: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(target, src, "app", "main.go")); err != nil || string(b) != "package main" {
		t.Errorf("restored main.go: %q %v", b, err)
	}
}

// dataBlobsHolding lists the data blobs of the repository whose content
// holds s.
func dataBlobsHolding(t *testing.T, env []string, s string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(mustRun(t, env, "list", "blobs")), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "data" && strings.Contains(mustRun(t, env, "cat", "blob", f[1]), s) {
			out = append(out, f[1])
		}
	}
	return out
}

// TestRewriteForgetPurges: a secret left out by rewrite --forget goes with
// prune's defaults, although its pack is almost all used (its share is
// far below --max-unused's 5%); a secret whose content another file still
// holds stays, and prune says so. rewrite --forget --prune does it in one
// step.
func TestRewriteForgetPurges(t *testing.T) {
	for _, oneStep := range []bool{false, true} {
		t.Run(map[bool]string{false: "then-prune", true: "with-prune"}[oneStep], func(t *testing.T) {
			env := repoEnv(t)
			src := t.TempDir()
			gone := "the first secret " + strings.Repeat("g", 40)
			kept := "the second secret " + strings.Repeat("k", 40)
			big := make([]byte, 400<<10)
			for i := range big {
				big[i] = byte(i*7 + i/251)
			}
			for name, data := range map[string]string{"app/.env": gone, "config/.env": kept, "config/env.bak": kept, "app/big.bin": string(big)} {
				put(t, filepath.Join(src, name), data)
			}
			mustRun(t, env, "backup", src)
			if n := len(dataBlobsHolding(t, env, "the first secret")); n != 1 {
				t.Fatalf("%d blobs hold the first secret before the rewrite", n)
			}
			args := []string{"rewrite", "--exclude", ".env", "--forget", "--json"}
			if oneStep {
				args = append(args, "--prune")
			}
			var sum message.RewriteSummary
			out := mustRun(t, env, args...)
			if err := strictJSON(out, &sum); err != nil || sum.Forgotten != 1 || sum.PurgeBlobs < 3 {
				t.Fatalf("rewrite: %v %+v (want the two secrets and the replaced trees recorded)\n%s", err, sum, out)
			}
			ps := sum.Prune
			if !oneStep {
				if sum.Prune != nil {
					t.Errorf("a rewrite without --prune pruned: %+v", sum.Prune)
				}
				var p message.PruneSummary
				if err := strictJSON(mustRun(t, env, "prune", "--json"), &p); err != nil {
					t.Fatal(err)
				}
				ps = &p
			}
			if ps == nil || ps.PurgedBlobs < 1 || ps.PurgeStillUsed != 1 || ps.PurgePacks < 1 {
				t.Errorf("prune summary %+v: want the first secret purged from a pack --max-unused kept, the second still used", ps)
			}
			if b := dataBlobsHolding(t, env, "the first secret"); len(b) != 0 {
				t.Errorf("after rewrite --forget and prune, blobs %v still hold the first secret", b)
			}
			if b := dataBlobsHolding(t, env, "the second secret"); len(b) != 1 {
				t.Errorf("the second secret, still in config/env.bak, is in %d blobs, want 1", len(b))
			}
			text := mustRun(t, env, "prune")
			if !strings.Contains(text, "1 blobs that rewrite --forget left out are still used by snapshots") {
				t.Errorf("prune does not say what stays:\n%s", text)
			}
			mustRun(t, env, "check", "--read-data")
		})
	}
}
