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

// TestProgressFitsTheTerminal runs a restore in a real terminal (tmux) of
// 80 and of 120 columns, with long paths, and reads the screen: restic's
// status line ("[0:03] 8.2%  3 files 197 KiB, total 40 files 2.3 MiB, 0
// errors ETA 3:34") with the current file on the line below, no line
// wider than the terminal, and after Ctrl-C no frame left behind the
// summary.
func TestProgressFitsTheTerminal(t *testing.T) {
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
	for _, width := range []int{80, 120} {
		t.Run(fmt.Sprint(width), func(t *testing.T) { progressInTmux(t, width, repoDir) })
	}
}

func progressInTmux(t *testing.T, width int, repoDir string) {
	session := fmt.Sprintf("cairn-test-%d-%d", os.Getpid(), width)
	target := t.TempDir()
	script := fmt.Sprintf("cd %s && env -i PATH=%s HOME=%s CAIRN_PASSWORD=pw CAIRN_REPOSITORY=%s %s=3 %s restore latest --target %s; echo END-OF-RUN; sleep 60",
		t.TempDir(), os.Getenv("PATH"), t.TempDir(), repoDir, stallEnv, cairnBin, target)
	if out, err := exec.Command("tmux", "new-session", "-d", "-s", session, "-x", fmt.Sprint(width), "-y", "30", script).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	defer exec.Command("tmux", "kill-session", "-t", session).Run()
	capture := func() string {
		out, _ := exec.Command("tmux", "capture-pane", "-p", "-t", session).Output()
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
	frame := func(s string) bool { return strings.Contains(s, "% ") && strings.Contains(s, " errors") }
	screen := waitFor("a progress frame", frame)
	lines := strings.Split(screen, "\n")
	status := -1
	for i, line := range lines {
		if w := uniseg.StringWidth(line); w > width {
			t.Errorf("a line of %d columns in a %d-column terminal: %q", w, width, line)
		}
		if frame(line) {
			status = i
		}
	}
	switch {
	case status < 0 || !strings.HasPrefix(lines[status], "[0:"):
		t.Errorf("no status line starting with the elapsed time:\n%s", screen)
	case status+1 >= len(lines) || !strings.Contains(lines[status+1], "a-rather-long-directory-name/"):
		t.Errorf("no current file below the status line:\n%s", screen)
	case width >= 120 && !strings.Contains(lines[status], ", total 40 files 2.3 MiB, 0 errors"):
		t.Errorf("at %d columns the status line is not restic's full one: %q", width, lines[status])
	}
	if out, err := exec.Command("tmux", "send-keys", "-t", session, "C-c").CombinedOutput(); err != nil {
		t.Fatalf("send Ctrl-C: %v %s", err, out)
	}
	screen = waitFor("the end of the run", func(s string) bool { return strings.Contains(s, "END-OF-RUN") })
	sawSummary := false
	for _, line := range strings.Split(strings.TrimSpace(screen), "\n") {
		if strings.Contains(line, "was interrupted") {
			sawSummary = true
			continue
		}
		if sawSummary && (frame(line) || strings.Contains(line, "a-rather-long-directory-name/d")) {
			t.Errorf("a progress frame was left after the summary: %q", line)
		}
	}
	if !sawSummary {
		t.Errorf("no interrupted summary on the screen:\n%s", screen)
	}
}
