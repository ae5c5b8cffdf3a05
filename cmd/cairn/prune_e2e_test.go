//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/message"
)

func TestLockConflictExit11(t *testing.T) {
	env := repoEnv(t)
	// A backup reading a slow stdin holds a shared lock.
	cmd := exec.Command(cairnBin, "backup", "--stdin")
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	repoDir := strings.TrimPrefix(env[1], "CAIRN_REPOSITORY=")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if locks, _ := os.ReadDir(filepath.Join(repoDir, "locks")); len(locks) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("backup did not take a lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := cairn(t, env, "prune")
	if r.code != 11 || !strings.Contains(r.stderr, fmt.Sprintf("PID %d", cmd.Process.Pid)) {
		t.Errorf("prune during backup: exit %d, %q; want 11 naming the backup's PID", r.code, r.stderr)
	}
	if r := cairn(t, env, "unlock"); r.code != 0 || !strings.Contains(r.stdout, "removed 0 lock files") {
		t.Errorf("unlock removed a live lock: %q", r.stdout)
	}
	// Shared locks coexist: check runs beside the backup.
	if r := cairn(t, env, "check"); r.code != 0 {
		t.Errorf("check beside a backup: exit %d %s", r.code, r.stderr)
	}
	_, _ = stdin.Write([]byte("some data"))
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("backup: %v %s", err, stderr.String())
	}
	if locks, _ := os.ReadDir(filepath.Join(repoDir, "locks")); len(locks) != 0 {
		t.Errorf("%d locks left after the backup", len(locks))
	}
	mustRun(t, env, "prune")
}

func TestForgetAndPrune(t *testing.T) {
	env := repoEnv(t)
	src := t.TempDir()
	for day := 1; day <= 12; day++ {
		put(t, filepath.Join(src, "daily.txt"), strings.Repeat(fmt.Sprintf("day %d\n", day), 5000))
		mustRun(t, env, "backup", "--time", fmt.Sprintf("2026-02-%02d 09:30:00", day), src)
	}
	// Refused: a policy that keeps nothing of a group.
	if r := cairn(t, env, "forget", "--keep-tag", "nonexistent"); r.code != 1 || !strings.Contains(r.stderr, "refusing") {
		t.Errorf("empty-keeping policy: exit %d %q", r.code, r.stderr)
	}
	out := mustRun(t, env, "forget", "--keep-daily", "3", "--keep-weekly", "2", "--dry-run", "--json")
	var groups []struct {
		Keep, Remove []map[string]any
		Reasons      []struct{ Matches []string }
	}
	if err := json.Unmarshal([]byte(out), &groups); err != nil || len(groups) != 1 {
		t.Fatalf("forget --json: %v %s", err, out)
	}
	// Feb 12, 11, 10 daily; Feb 8 is the last Sunday (weekly), and the
	// week of Feb 12 is covered by Feb 12.
	if len(groups[0].Keep) != 4 || len(groups[0].Remove) != 8 {
		t.Errorf("keep %d, remove %d; want 4 and 8", len(groups[0].Keep), len(groups[0].Remove))
	}
	if got := strings.Join(groups[0].Reasons[0].Matches, ","); got != "daily snapshot,weekly snapshot" {
		t.Errorf("reasons of the newest snapshot: %q", got)
	}
	if snapshotCount(t, env) != 12 {
		t.Fatal("dry run removed snapshots")
	}
	repoDir := strings.TrimPrefix(env[1], "CAIRN_REPOSITORY=")
	before := dirBytes(t, repoDir)
	mustRun(t, env, "forget", "--keep-daily", "3", "--keep-weekly", "2", "--prune")
	if n := snapshotCount(t, env); n != 4 {
		t.Errorf("%d snapshots after forget, want 4", n)
	}
	if after := dirBytes(t, repoDir); after >= before {
		t.Errorf("repository did not shrink: %d -> %d bytes", before, after)
	}
	if r := cairn(t, env, "check", "--read-data"); r.code != 0 {
		t.Errorf("check after forget --prune: %s", r.stderr)
	}
	target := t.TempDir()
	mustRun(t, env, "restore", "latest:"+src, "--target", target, "--verify")
	// Explicit IDs remove even the last snapshots of a group.
	var snaps []map[string]any
	_ = json.Unmarshal([]byte(mustRun(t, env, "snapshots", "--json")), &snaps)
	args := []string{"forget"}
	for _, s := range snaps {
		args = append(args, s["short_id"].(string))
	}
	mustRun(t, env, args...)
	if n := snapshotCount(t, env); n != 0 {
		t.Errorf("%d snapshots left after forgetting all by ID", n)
	}
}

func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// TestPruneFiguresAsRestic: prune --dry-run prints restic's figures
// (to repack, this removes, to delete, total prune, remaining, packs by
// use), and they agree with the --json summary and with what prune then
// does.
func TestPruneFiguresAsRestic(t *testing.T) {
	env, _, src := smallPackRepo(t, 12)
	// A second snapshot without half the files, then forget the first:
	// some packs hold only unused blobs, others both.
	for i := 0; i < 12; i += 2 {
		if err := os.Remove(filepath.Join(src, fmt.Sprintf("d%d", i%4), fmt.Sprintf("f%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, env, "backup", src)
	mustRun(t, env, "forget", "--keep-last", "1")
	dry := mustRun(t, env, "prune", "--dry-run", "--max-unused", "0")
	for _, want := range []string{"to repack:", "this removes:", "to delete:", "total prune:", "remaining:",
		"unused size after prune:", "totally used packs:", "partly used packs:", "unused packs:", "to keep:", "would free"} {
		if !strings.Contains(dry, want) {
			t.Errorf("prune --dry-run lacks %q:\n%s", want, dry)
		}
	}
	var sum message.PruneSummary
	if err := strictJSON(mustRun(t, env, "prune", "--dry-run", "--max-unused", "0", "--json"), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.RemovedBlobs == 0 || sum.PacksUnused+sum.PacksPartlyUsed == 0 || sum.PacksKept+sum.PacksRepacked+sum.PacksDeleted != sum.Packs ||
		sum.PacksFullyUsed+sum.PacksPartlyUsed+sum.PacksUnused != sum.Packs || sum.RemovedBlobs != sum.BlobsUnused {
		t.Errorf("dry-run figures do not add up: %+v", sum)
	}
	if !strings.Contains(dry, fmt.Sprintf("total prune:       %8d blobs", sum.RemovedBlobs)) {
		t.Errorf("text and JSON disagree on total prune (%d):\n%s", sum.RemovedBlobs, dry)
	}
	var done message.PruneSummary
	if err := strictJSON(mustRun(t, env, "prune", "--max-unused", "0", "--json"), &done); err != nil {
		t.Fatal(err)
	}
	if done.PacksDeleted != sum.PacksDeleted || done.PacksRepacked != sum.PacksRepacked || done.RemovedBlobs != sum.RemovedBlobs {
		t.Errorf("prune did %+v, the dry run said %+v", done, sum)
	}
	mustRun(t, env, "check", "--read-data")
	var after message.PruneSummary
	if err := strictJSON(mustRun(t, env, "prune", "--dry-run", "--json"), &after); err != nil || after.RemovedBlobs != 0 || after.PacksUnused != 0 {
		t.Errorf("after prune: %v %+v", err, after)
	}
}
