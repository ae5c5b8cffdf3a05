//go:build linux

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/bench"
)

// TestBenchShow prints a saved report, failed step included, draws its
// plot, and refuses a file that is not a report with one line and exit 1.
func TestBenchShow(t *testing.T) {
	dir := t.TempDir()
	rep := bench.Report{Dataset: "/data", Bytes: 1 << 30, Files: 10,
		Versions: map[string]string{"cairn": "cairn test", "restic": "restic 0.19.1"},
		Settings: map[string]string{"cairn": "zstd", "restic": "auto"}}
	for _, tool := range []string{"cairn", "restic"} {
		r := bench.Result{Tool: tool, StoredBytes: 1 << 29, Reduction: 2}
		for _, name := range bench.StepNames {
			r.Steps = append(r.Steps, bench.Step{Name: name, Seconds: 2, MBps: 500, PeakRSSKB: 1 << 16})
		}
		rep.Results = append(rep.Results, r)
	}
	rep.Results[1].Steps[3].Error = "restic: exit status 1: disk full"
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "bench.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	plot := filepath.Join(dir, "bench.svg")
	out := mustRun(t, nil, "bench", "show", file, "--plot", plot)
	for _, want := range []string{"restic 0.19.1", "FAILED", "disk full", "cairn vs restic"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench show output lacks %q:\n%s", want, out)
		}
	}
	if fi, err := os.Stat(plot); err != nil || fi.Size() < 1000 {
		t.Errorf("no plot drawn: %v", err)
	}
	if err := os.WriteFile(file, []byte(`{"dataset":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := cairn(t, nil, "bench", "show", file)
	if r.code != 1 || !strings.Contains(r.stderr, "is not a bench report") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("a file that is not a report: exit %d, stderr %q", r.code, r.stderr)
	}
}
