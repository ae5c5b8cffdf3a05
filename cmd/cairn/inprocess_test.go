//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/routine"
	"github.com/rivo/uniseg"
)

// A run's commands share one opened repository: one key derivation for
// snapshots, check, stats and prune together; a failed command gives its
// repository up, and the next opens it again. Backups still run as a
// child process.
func TestInProcessExecutorKeepsRepositories(t *testing.T) {
	_, repoDir, src := smallPackRepo(t, 3)
	pw := writePw(t, "pw")
	x := &inProcess{g: &globals{stdout: io.Discard, stderr: io.Discard}, child: routine.Binary{Path: cairnBin, RetryLock: time.Minute}}
	defer x.Close()
	target := &config.Repository{Name: "local", URL: repoDir, PasswordFile: pw}
	ctx := context.Background()
	run := func(args ...string) routine.Result {
		t.Helper()
		res, err := x.Cairn(ctx, routine.Command{Repo: target, Args: args})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := run("snapshots", "--json"); res.Code != 0 || !strings.Contains(string(res.Stdout), `"short_id"`) {
		t.Fatalf("snapshots: %d %s %s", res.Code, res.Stdout, res.Stderr)
	}
	var c message.CheckSummary
	if res := run("check", "--json", "--read-data"); res.Code != 0 || res.Decode(&c) != nil || !c.OK {
		t.Fatalf("check: %d %s", res.Code, res.Stderr)
	}
	var s message.StatsSummary
	if res := run("stats", "--json"); res.Code != 0 || res.Decode(&s) != nil || s.RepositorySize == 0 {
		t.Fatalf("stats: %d %s", res.Code, res.Stderr)
	}
	if x.opens != 1 {
		t.Errorf("%d repository opens for three commands, want 1", x.opens)
	}
	// A backup runs as a child; the kept handle sees its snapshot after.
	put(t, filepath.Join(src, "new"), "new data")
	if res := run("backup", "--json", src); res.Code != 0 {
		t.Fatalf("backup: %d %s", res.Code, res.Stderr)
	}
	var snaps []message.Snapshot
	if res := run("snapshots", "--json"); json.Unmarshal(res.Stdout, &snaps) != nil || len(snaps) != 2 {
		t.Errorf("the kept repository does not see the child's backup: %s", res.Stdout)
	}
	// A failing command drops the kept repository.
	if res := run("cat", "blob", strings.Repeat("ab", 32)); res.Code != 1 || !strings.Contains(res.Stderr, "not found") {
		t.Errorf("cat of a missing blob: %d %s", res.Code, res.Stderr)
	}
	if res := run("stats", "--json"); res.Code != 0 || x.opens != 2 {
		t.Errorf("after a failed command: %d opens, want 2 (%s)", x.opens, res.Stderr)
	}
}

// Restore progress reports the planned totals, so status lines carry
// total_files, total_bytes and percent_done.
func TestRestoreProgressHasTotals(t *testing.T) {
	var out bytes.Buffer
	g := &globals{stdout: &out, stderr: io.Discard, json: true}
	var files, done atomic.Uint64
	files.Store(3)
	done.Store(50)
	c := &counters{filesDone: files.Load, bytesDone: done.Load,
		totals: func() (uint64, uint64, bool) { return 10, 200, true }}
	p := &progress{g: g, c: c, start: time.Now()}
	p.update("restore")
	var st message.Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil || st.TotalFiles != 10 || st.TotalBytes != 200 || st.PercentDone != 0.25 {
		t.Errorf("status %s: %+v %v", out.String(), st, err)
	}
}

// The status line is restic's where it fits, shorter where it does not,
// and never wider than the terminal; the current file's line keeps the
// end of the path within the width, wide characters counted by their
// display width.
func TestStatusLineFitsTheWidth(t *testing.T) {
	st := progressState{elapsed: 3 * time.Second, files: 8321, bytes: 98 << 20, totalFiles: 15698, totalBytes: 233 << 20,
		final: true, unit: "files"}
	if got, want := st.line(120), "[0:03] 42.1%  8321 files 98 MiB, total 15698 files 233 MiB, 0 errors ETA 0:04"; got != want {
		t.Errorf("120 columns: %q, want %q", got, want)
	}
	for _, w := range []int{40, 60, 80, 100, 200} {
		if got := uniseg.StringWidth(st.line(w)); got >= w && w >= 40 {
			t.Errorf("width %d: status line of %d columns: %q", w, got, st.line(w))
		}
		for _, cur := range []string{"/short", "/home/ann/" + strings.Repeat("very-long-directory/", 10) + "file", "/写真/" + strings.Repeat("長い名前", 20)} {
			if got := uniseg.StringWidth(fitWidth(cur, w-1)); got > w-1 {
				t.Errorf("width %d: current file of %d columns", w, got)
			}
		}
	}
	counting := progressState{elapsed: time.Second, files: 10, bytes: 1 << 20, totalFiles: 200, totalBytes: 10 << 20, unit: "files"}
	if got := counting.line(120); !strings.Contains(got, "total 200+ files") || strings.Contains(got, "ETA") {
		t.Errorf("while counting: %q", got)
	}
}
