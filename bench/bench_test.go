package bench

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// digest hashes every file's path and content under dir.
func digest(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s %d\n", rel, len(data))
		h.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestGenerateDeterministic(t *testing.T) {
	for _, profile := range Profiles {
		t.Run(profile, func(t *testing.T) {
			o := GenOptions{Profile: profile, Size: 2 << 20, Seed: 7}
			a, b := t.TempDir(), t.TempDir()
			na, err := Generate(a, o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Generate(b, o); err != nil {
				t.Fatal(err)
			}
			if digest(t, a) != digest(t, b) {
				t.Error("the same seed gave different data")
			}
			bytes, files, _, err := datasetSize(a)
			if err != nil || files != na || bytes < o.Size*9/10 || bytes > o.Size*11/10+256<<10 {
				t.Errorf("%d files (reported %d), %d bytes; want about %d", files, na, bytes, o.Size)
			}
			o.Seed = 8
			c := t.TempDir()
			if _, err := Generate(c, o); err != nil {
				t.Fatal(err)
			}
			if digest(t, a) == digest(t, c) {
				t.Error("another seed gave the same data")
			}
		})
	}
}

func TestVMImageVersions(t *testing.T) {
	dir := t.TempDir()
	v0 := filepath.Join(dir, "v0")
	v1 := filepath.Join(dir, "v1")
	if _, err := Generate(v0, GenOptions{Profile: "vmimage", Size: 4 << 20, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(v1, GenOptions{Profile: "vmimage", Size: 4 << 20, Seed: 3, Version: 1}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(v0, "disk.img"))
	b, _ := os.ReadFile(filepath.Join(v1, "disk.img"))
	changed := 0
	for i := 0; i < len(a); i += vmBlock {
		if string(a[i:i+vmBlock]) != string(b[i:i+vmBlock]) {
			changed++
		}
	}
	if blocks := len(a) / vmBlock; changed == 0 || changed > blocks/100+1 {
		t.Errorf("version 1 changed %d of %d blocks, want about 1%%", changed, blocks)
	}
}

// TestRunCairn runs the whole benchmark with the cairn binary alone.
func TestRunCairn(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cairn")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/cairn").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := t.TempDir()
	if _, err := Generate(data, GenOptions{Profile: "tree", Size: 3 << 20, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), data, RunOptions{Cairn: bin, Compare: []string{"no-such-tool"}, Work: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || len(rep.Results[0].Steps) != len(StepNames) || rep.Skipped[0] != "no-such-tool" ||
		!strings.HasPrefix(rep.Versions["cairn"], "cairn") {
		t.Fatalf("report: %+v", rep)
	}
	for _, s := range rep.Results[0].Steps {
		if s.Error != "" || s.Seconds <= 0 || s.MBps <= 0 || s.PeakRSSKB <= 0 || s.CPUSeconds <= 0 {
			t.Errorf("step %+v", s)
		}
	}
	if r := rep.Results[0]; r.StoredBytes <= 0 || r.Reduction <= 1 {
		t.Errorf("stored %d bytes, reduction %.2f", r.StoredBytes, r.Reduction)
	}
	c := rep.Ceiling
	if c == nil || len(c.Stages) != 4 || c.SampleBytes <= 0 || rep.CeilingShare <= 0 {
		t.Fatalf("ceiling %+v, share %v", c, rep.CeilingShare)
	}
	var sum float64
	for _, s := range c.Stages {
		if s.NsPerByte <= 0 || s.MBps <= 0 {
			t.Errorf("stage %+v", s)
		}
		sum += s.NsPerByte
	}
	if want := float64(c.Cores) * 1e3 / sum; c.MBps < want*0.999 || c.MBps > want*1.001 {
		t.Errorf("ceiling %.1f MB/s, stages give %.1f", c.MBps, want)
	}

	// Interrupted as the changed backup starts (as Ctrl-C would): Run
	// stops, says how many commands had ended, and leaves the dataset as
	// it was.
	before, files, _, err := datasetSize(data)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = Run(ctx, data, RunOptions{Cairn: bin, Work: t.TempDir(), CeilingSample: -1, Log: func(f string, a ...any) {
		if strings.Contains(fmt.Sprintf(f, a...), "backup-1pct-changed") {
			cancel()
		}
	}})
	var stopped *StoppedError
	if !errors.As(err, &stopped) || stopped.Ran != 2 || stopped.Total != 5 || !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v, want stopped after 2 of 5 commands", err)
	}
	if after, files2, _, _ := datasetSize(data); after != before || files2 != files {
		t.Errorf("dataset after the interrupted run: %d bytes in %d files, before %d in %d", after, files2, before, files)
	}
}

// TestCeilingSampleLimit checks that the ceiling reads no more than its
// sample and fails clearly on a dataset with no data.
func TestCeilingSampleLimit(t *testing.T) {
	data := t.TempDir()
	if _, err := Generate(data, GenOptions{Profile: "bigfiles", Size: 3 << 20, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	_, _, files, err := datasetSize(data)
	if err != nil {
		t.Fatal(err)
	}
	c, err := MeasureCeiling(files, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if c.SampleBytes != 1<<20 {
		t.Errorf("sampled %d bytes, want %d", c.SampleBytes, 1<<20)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := MeasureCeiling([]string{empty}, 1<<20); err == nil {
		t.Error("no error for a dataset without data")
	}
}

func TestPlot(t *testing.T) {
	rep := &Report{Dataset: "x", Bytes: 1e9, Files: 10}
	tools := []string{"cairn", "restic", "borg", "borg-zstd", "kopia", "kopia-zstd"}
	for i, tool := range tools {
		r := Result{Tool: tool}
		for _, n := range StepNames {
			r.Steps = append(r.Steps, Step{Name: n, MBps: float64(100 * (i + 1))})
		}
		rep.Results = append(rep.Results, r)
	}
	rep.Results[1].Steps[2].Error = "failed"
	file := filepath.Join(t.TempDir(), "b.svg")
	if err := Plot(rep, file); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil || len(data) < 1000 || string(data[:5]) != "<?xml" {
		t.Fatalf("plot is not an SVG: %d bytes, %v", len(data), err)
	}
	// Every tool has a colour of its own (white is the background).
	fills := map[string]bool{}
	for _, m := range regexp.MustCompile(`fill:#[0-9A-Fa-f]{6}`).FindAllString(string(data), -1) {
		fills[strings.ToUpper(m)] = true
	}
	delete(fills, "FILL:#FFFFFF")
	if len(fills) != len(tools) {
		t.Errorf("%d bar colours for %d tools: %v", len(fills), len(tools), fills)
	}
}

// TestScale runs a small series: the second point has about four times
// the files of the first, and both are measured and cleaned up.
func TestScale(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cairn")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/cairn").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	work := t.TempDir()
	points, err := Scale(context.Background(), ScaleOptions{Cairn: bin, Profile: "manysmall", Sizes: []int64{128 << 10, 512 << 10}, Seed: 1, Work: work})
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 2 {
		t.Fatalf("%d points", len(points))
	}
	for _, p := range points {
		if p.Files <= 0 || p.Bytes <= 0 || p.Seconds <= 0 || p.PeakRSSKB <= 0 {
			t.Errorf("point %+v", p)
		}
	}
	if g := points[1].DataGrowth; g < 3 || g > 5 {
		t.Errorf("files grew %.2fx from 128 KiB to 512 KiB of small files, want about 4x", g)
	}
	if entries, _ := os.ReadDir(work); len(entries) != 0 {
		t.Errorf("%d entries left in the work folder", len(entries))
	}
	if _, err := Scale(context.Background(), ScaleOptions{Cairn: bin, Profile: "no-such", Sizes: []int64{1 << 20}, Work: work}); err == nil {
		t.Error("no error for an unknown profile")
	}
}

// TestMedianResults checks that merged runs report each step's median
// run, with failed runs counted as the slowest.
func TestMedianResults(t *testing.T) {
	run := func(backup float64, restoreErr string, stored int64) []Result {
		return []Result{{Tool: "cairn", StoredBytes: stored, Steps: []Step{
			{Name: "backup", Seconds: backup, MBps: 100 / backup},
			{Name: "restore", Seconds: 1, Error: restoreErr},
		}}}
	}
	got := medianResults([][]Result{run(3, "", 10), run(1, "boom", 11), run(2, "boom", 12)})
	if s := got[0].Steps[0]; s.Seconds != 2 || s.MBps != 50 {
		t.Errorf("backup median %+v, want the 2 s run", s)
	}
	if s := got[0].Steps[1]; s.Error != "boom" {
		t.Errorf("restore median %+v: two of three runs failed, the median must be a failure", s)
	}
	if got[0].StoredBytes != 12 {
		t.Errorf("stored %d, want 12, from the run whose backup is the median", got[0].StoredBytes)
	}
	got = medianResults([][]Result{run(2, "", 20), run(9, "", 21), run(5, "", 22)})
	if got[0].Steps[0].Seconds != 5 || got[0].StoredBytes != 22 {
		t.Errorf("median backup %v s and stored %d; want 5 s and 22 (the same run)", got[0].Steps[0].Seconds, got[0].StoredBytes)
	}
	if one := run(5, "", 1); medianResults([][]Result{one})[0].Steps[0].Seconds != 5 {
		t.Error("a single run must come back unchanged")
	}
}

// A tool whose restore succeeds without restoring the dataset fails the
// step: no time, no rates, named in Failed; and a run leaves the dataset
// as it found it (the 1% change is undone).
func TestRestoreIsChecked(t *testing.T) {
	data := t.TempDir()
	if _, err := Generate(data, GenOptions{Profile: "tree", Size: 2 << 20, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	bytesBefore, filesBefore, files, err := datasetSize(data)
	if err != nil {
		t.Fatal(err)
	}
	// A fake tool: a backup appends a line to REPO.snaps, its snapshots
	// are those lines, and its restore insists on the newest one ("s3").
	lines := func(out []byte) (string, int, error) {
		n := strings.Count(string(out), "\n")
		return fmt.Sprintf("s%d", n), n, nil
	}
	fake := Tool{Name: "fake",
		Init:      func(r string) [][]string { return [][]string{{"touch", r + ".snaps"}} },
		Backup:    func(r, _ string) []string { return []string{"sh", "-c", "echo x >> " + r + ".snaps"} },
		Snapshots: func(r string) []string { return []string{"cat", r + ".snaps"} },
		Latest:    lines,
		Restore:   func(_, _, id string) []string { return []string{"sh", "-c", `[ "$0" = s3 ] || exit 3`, id} },
		Check:     func(string) []string { return []string{"true"} }}
	// A tool whose backups succeed without making a snapshot.
	idle := fake
	idle.Name = "idle"
	idle.Backup = func(string, string) []string { return []string{"true"} }
	res, err := runOnce(context.Background(), []Tool{fake, idle}, data, bytesBefore, filesBefore, files, t.TempDir(), func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	rep := &Report{Results: res}
	var restore Step
	for _, s := range res[0].Steps {
		if s.Name == "restore" {
			restore = s
		} else if s.Error != "" {
			t.Errorf("step %s failed: %s", s.Name, s.Error)
		}
	}
	if !strings.Contains(restore.Error, "the restore holds 0 files") || restore.Seconds != 0 || restore.MBps != 0 {
		t.Errorf("restore step %+v (want it run on snapshot s3, then found wrong)", restore)
	}
	// The idle tool's first backup failed: its later steps are skipped,
	// not timed against a repository without snapshots.
	for k, s := range res[1].Steps {
		if k == 0 {
			if !strings.Contains(s.Error, "the backup left 0 snapshots, want 1") || s.Seconds != 0 || s.Skipped {
				t.Errorf("idle %s: %+v", s.Name, s)
			}
		} else if !s.Skipped || s.Seconds != 0 || s.Error == "" {
			t.Errorf("idle %s after a failed backup: %+v, want skipped", s.Name, s)
		}
	}
	if len(res[1].Steps) != len(StepNames) {
		t.Errorf("idle has %d steps, want %d", len(res[1].Steps), len(StepNames))
	}
	if f := rep.Failed(); len(f) != 2 || !strings.HasPrefix(f[0], "fake restore: ") || !strings.HasPrefix(f[1], "idle backup: ") {
		t.Errorf("Failed() = %q", f)
	}
	if b, n, _, _ := datasetSize(data); b != bytesBefore || n != filesBefore {
		t.Errorf("dataset after a run: %d bytes in %d files, before %d in %d", b, n, bytesBefore, filesBefore)
	}
}

// TestLatest checks the readers of each tool's snapshot list: the newest
// snapshot, as its restore takes it, and the count.
func TestLatest(t *testing.T) {
	cases := []struct {
		name   string
		latest func([]byte) (string, int, error)
		out    string
		id     string
		n      int
	}{
		{"cairn/restic", latestByTime, `[{"id":"b","time":"2026-12-02T10:00:00Z"},{"id":"c","time":"2026-12-02T11:00:00+01:00"},{"id":"a","time":"2026-12-02T10:30:00Z"}]`, "a", 3},
		{"empty", latestByTime, `[]`, "", 0},
		{"borg", latestBorg, `{"archives":[{"name":"b1","start":"2026-12-02T10:00:00.000000"},{"name":"b2","start":"2026-12-02T10:05:00.000000"}]}`, "b2", 2},
		{"kopia", latestKopia, `[{"id":"m1","startTime":"2026-12-02T10:00:00Z","rootEntry":{"obj":"k1"}},{"id":"m2","startTime":"2026-12-02T10:01:00Z","rootEntry":{"obj":"k2"}}]`, "k2", 2},
	}
	for _, c := range cases {
		id, n, err := c.latest([]byte(c.out))
		if err != nil || id != c.id || n != c.n {
			t.Errorf("%s: %q, %d, %v; want %q, %d", c.name, id, n, err, c.id, c.n)
		}
	}
	if _, _, err := latestKopia([]byte("not json")); err == nil {
		t.Error("garbage was read as a snapshot list")
	}
}

// TestOwnHome checks that every tool runs with its home and cache folders
// under the work folder, and that the tools given are left as they were.
func TestOwnHome(t *testing.T) {
	tools, _ := Tools("/bin/cairn", nil, false)
	got := withOwnHome(tools, "/w")
	env := strings.Join(got[0].Env, " ")
	for _, want := range []string{"HOME=/w/cairn-home", "XDG_CACHE_HOME=/w/cairn-home/.cache", "XDG_CONFIG_HOME=/w/cairn-home/.config", "CAIRN_PASSWORD=bench"} {
		if !strings.Contains(env, want) {
			t.Errorf("environment %q lacks %s", env, want)
		}
	}
	if strings.Contains(strings.Join(tools[0].Env, " "), "HOME=") {
		t.Errorf("the tools given were changed: %q", tools[0].Env)
	}
}

// TestVersionLine checks that every tool's version line names the tool,
// including kopia's, which prints only its number.
func TestVersionLine(t *testing.T) {
	cases := []struct{ bin, out, want string }{
		{"/x/kopia", "0.23.1 build: 72ec08f from: kopia/kopia\n", "kopia 0.23.1 build: 72ec08f from: kopia/kopia"},
		{"/usr/bin/restic", "restic 0.19.1 compiled with go1.26.8 on linux/amd64\n", "restic 0.19.1 compiled with go1.26.8 on linux/amd64"},
		{"/usr/bin/borg", "borg 1.2.4\nmore\n", "borg 1.2.4"},
		{"/usr/bin/borg", "\n", "unknown"},
	}
	for _, c := range cases {
		if got := versionLine(c.bin, []byte(c.out)); got != c.want {
			t.Errorf("versionLine(%q, %q) = %q, want %q", c.bin, c.out, got, c.want)
		}
	}
}

// TestSameSettings checks that --same-settings adds zstd variants of the
// peers whose default is not zstd, and that every tool says its settings.
func TestSameSettings(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"borg", "kopia", "restic"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	tools, skipped := Tools("/bin/cairn", []string{"restic", "borg", "kopia"}, true)
	var names []string
	for _, tool := range tools {
		names = append(names, tool.Name)
		if tool.Settings == "" {
			t.Errorf("%s has no settings", tool.Name)
		}
	}
	if got := strings.Join(names, ","); got != "cairn,restic,borg,borg-zstd,kopia,kopia-zstd" || len(skipped) != 0 {
		t.Errorf("tools %s, skipped %v", got, skipped)
	}
	if args := strings.Join(tools[3].Backup("/r", "/d"), " "); !strings.Contains(args, "--compression zstd,3") {
		t.Errorf("borg-zstd backup: %s", args)
	}
	if init := tools[5].Init("/r"); len(init) != 2 || !strings.Contains(strings.Join(init[1], " "), "policy set --global --compression zstd") {
		t.Errorf("kopia-zstd init: %q", init)
	}
	if args := strings.Join(tools[4].Restore("/r", "/t", "k1"), " "); !strings.Contains(args, "snapshot restore k1 /t") {
		t.Errorf("kopia restore: %s", args)
	}
	if tools, _ := Tools("/bin/cairn", []string{"borg", "kopia"}, false); len(tools) != 3 {
		t.Errorf("without --same-settings: %d tools, want cairn, borg and kopia", len(tools))
	}
}

// TestRoundTicks checks that the axis is labelled at round values.
func TestRoundTicks(t *testing.T) {
	var got []string
	for _, tk := range roundTicks(0, 2650) {
		got = append(got, tk.Label)
	}
	if s := strings.Join(got, " "); s != "0 500 1000 1500 2000 2500" {
		t.Errorf("ticks from 0 to 2650: %s", s)
	}
	if len(roundTicks(5, 5)) != 0 {
		t.Error("ticks for an empty range")
	}
}
