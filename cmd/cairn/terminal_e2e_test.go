//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rivo/uniseg"
)

// TestProgressFitsAn80ColumnTerminal runs a restore in a real terminal of
// 80 columns (tmux), with long paths, and reads the screen: no progress
// line wraps, and after Ctrl-C no frame is left behind the summary.
func TestProgressFitsAn80ColumnTerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is not installed: scripts/deps.sh installs it (make test runs it)")
		}
		t.Skip("tmux is not installed: run make test, which installs it")
	}
	env, repoDir, _ := smallPackRepo(t, 4)
	deep := filepath.Join(t.TempDir(), strings.Repeat("a-rather-long-directory-name/", 6))
	writeTree(t, deep, 40, 40<<10, 9)
	mustRun(t, env, "backup", "--compression", "off", deep)
	session := fmt.Sprintf("cairn-test-%d", os.Getpid())
	target := t.TempDir()
	script := fmt.Sprintf("cd %s && env -i PATH=%s HOME=%s CAIRN_PASSWORD=pw CAIRN_REPOSITORY=%s %s=3 %s restore latest --target %s; echo END-OF-RUN; sleep 60",
		t.TempDir(), os.Getenv("PATH"), t.TempDir(), repoDir, stallEnv, cairnBin, target)
	if out, err := exec.Command("tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "30", script).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	defer exec.Command("tmux", "kill-session", "-t", session).Run()
	capture := func() string {
		out, _ := exec.Command("tmux", "capture-pane", "-p", "-J", "-t", session).Output()
		return string(out)
	}
	// Wait on the screen's state: a progress frame with the planned total.
	waitFor := func(what string, ok func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			s := capture()
			if ok(s) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("the screen never showed %s:\n%s", what, s)
			}
			time.Sleep(20 * time.Millisecond) // polling the screen, not standing in for an event
		}
	}
	screen := waitFor("a progress frame", func(s string) bool { return strings.Contains(s, "restore ") && strings.Contains(s, " files") })
	for _, line := range strings.Split(screen, "\n") {
		if w := uniseg.StringWidth(line); w > 80 {
			t.Errorf("a line of %d columns wrapped in an 80-column terminal: %q", w, line)
		}
	}
	if out, err := exec.Command("tmux", "send-keys", "-t", session, "C-c").CombinedOutput(); err != nil {
		t.Fatalf("send Ctrl-C: %v %s", err, out)
	}
	screen = waitFor("the end of the run", func(s string) bool { return strings.Contains(s, "END-OF-RUN") })
	lines := strings.Split(strings.TrimSpace(screen), "\n")
	sawSummary := false
	for _, line := range lines {
		if strings.Contains(line, "was interrupted") {
			sawSummary = true
			continue
		}
		if sawSummary && strings.Contains(line, "files") && strings.ContainsAny(line, "|/-\\\\") && strings.Contains(line, "restore ") {
			t.Errorf("a progress frame was left after the summary: %q", line)
		}
	}
	if !sawSummary {
		t.Errorf("no interrupted summary on the screen:\n%s", screen)
	}
}
