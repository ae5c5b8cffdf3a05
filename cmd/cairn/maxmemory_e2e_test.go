//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/bench"
)

// memoryCgroup makes a cgroup whose processes may use at most limit
// bytes (page cache included), and returns the file a process writes its
// PID into to join it.
func memoryCgroup(t *testing.T, limit int64) string {
	t.Helper()
	name := fmt.Sprintf("cairn-test-%d", os.Getpid())
	fail := func(err error) {
		if os.Getenv("CI") != "" {
			t.Fatalf("cannot make a memory cgroup: %v", err)
		}
		t.Skipf("cannot make a memory cgroup here: %v", err)
	}
	if v1 := "/sys/fs/cgroup/memory"; dirExists(v1) {
		dir := filepath.Join(v1, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			fail(err)
		}
		t.Cleanup(func() { _ = os.Remove(dir) })
		if err := os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(fmt.Sprint(limit)), 0o644); err != nil {
			fail(err)
		}
		return filepath.Join(dir, "cgroup.procs")
	}
	dir := filepath.Join("/sys/fs/cgroup", name) // cgroup v2
	if err := os.Mkdir(dir, 0o755); err != nil {
		fail(err)
	}
	t.Cleanup(func() { _ = os.Remove(dir) })
	if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(fmt.Sprint(limit)), 0o644); err != nil {
		fail(err)
	}
	return filepath.Join(dir, "cgroup.procs")
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// TestMaxMemoryUnderACgroup: with --max-memory 128MiB, backup, check
// --read-data and restore of a tree run inside a cgroup that allows 192
// MiB (page cache included) without being killed, each with a peak RSS
// within the cap, and the restore is identical.
func TestMaxMemoryUnderACgroup(t *testing.T) {
	procs := memoryCgroup(t, 192<<20)
	data := t.TempDir()
	if _, err := bench.Generate(data, bench.GenOptions{Profile: "tree", Size: 200 << 20, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	env := repoEnv(t)
	target := t.TempDir()
	for _, args := range [][]string{{"backup", data}, {"check", "--read-data"}, {"restore", "latest", "--target", target}} {
		cmd := exec.Command("sh", "-c", `echo $$ > "$0" && exec "$@"`, procs, cairnBin, "--max-memory", "128MiB", "-q")
		cmd.Args = append(cmd.Args, args...)
		cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), peakEnv + "=1"}, env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("cairn %s under a 192 MiB cgroup: %v\n%s", strings.Join(args, " "), err, out)
		}
		var kb int64
		if i := strings.Index(string(out), "cairn-test: peak rss "); i < 0 {
			t.Fatalf("cairn %s reported no peak:\n%s", args[0], out)
		} else if _, err := fmt.Sscanf(string(out[i:]), "cairn-test: peak rss %d kB", &kb); err != nil {
			t.Fatalf("peak line: %v\n%s", err, out)
		}
		if kb<<10 > 128<<20 {
			t.Errorf("cairn %s: peak RSS %d MiB over the 128 MiB cap", args[0], kb>>10)
		}
	}
	sameTrees(t, data, filepath.Join(target, data))
}
