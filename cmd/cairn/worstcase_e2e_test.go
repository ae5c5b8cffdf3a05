package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// smallPackRepo makes a repository with 64 KiB packs holding files
// uncompressed, so that a restore or check reads many packs.
func smallPackRepo(t *testing.T, files int) (env []string, repoDir, src string) {
	t.Helper()
	repoDir = filepath.Join(t.TempDir(), "repo")
	env = []string{"CAIRN_PASSWORD=pw", "CAIRN_REPOSITORY=" + repoDir}
	mustRun(t, env, "init", "--pack-size", "64KiB")
	src = t.TempDir()
	writeTree(t, src, files, 40<<10, 7)
	mustRun(t, env, "backup", "--compression", "off", src)
	return env, repoDir, src
}

// stalled is a cairn process whose pack reads stopped answering.
type stalled struct {
	cmd            *exec.Cmd
	stdout, stderr *bytes.Buffer
}

// startStalled runs cairn with its pack reads stalling after loads reads,
// and returns once the first read has stalled: the process is then
// mid-command, waiting, and the test can signal it. No sleep is involved.
func startStalled(t *testing.T, env []string, loads int, args ...string) *stalled {
	t.Helper()
	cmd := exec.Command(cairnBin, args...)
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), fmt.Sprintf("%s=%d", stallEnv, loads)}, env...)
	s := &stalled{cmd: cmd, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	cmd.Stdout = s.stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	rd := bufio.NewReader(pipe)
	for {
		line, err := rd.ReadString('\n')
		s.stderr.WriteString(line)
		if strings.Contains(line, stallMarker) {
			break
		}
		if err != nil {
			_ = cmd.Wait()
			t.Fatalf("cairn %s ended before its storage stalled:\nstdout: %s\nstderr: %s", strings.Join(args, " "), s.stdout, s.stderr)
		}
	}
	go func() { _, _ = io.Copy(s.stderr, rd) }()
	return s
}

// stop sends sig and returns the exit code.
func (s *stalled) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := s.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// noLocks fails unless the repository holds no lock files.
func noLocks(t *testing.T, repoDir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(repoDir, "locks"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("%d lock files left behind", len(entries))
	}
}

// TestRestoreInterrupted: a restore stopped by SIGINT or SIGTERM exits
// 130, says it was interrupted, counts only the files really on disk, and
// leaves no lock.
func TestRestoreInterrupted(t *testing.T) {
	env, repoDir, src := smallPackRepo(t, 48)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			target := t.TempDir()
			s := startStalled(t, env, 6, "restore", "latest", "--target", target, "--json")
			if code := s.stop(t, sig); code != 130 {
				t.Fatalf("exit %d, want 130\nstdout: %s\nstderr: %s", code, s.stdout, s.stderr)
			}
			sum := lastJSON(t, s.stdout.String())
			if sum["interrupted"] != true {
				t.Errorf("summary does not say interrupted: %v", sum)
			}
			onDisk := 0
			_ = filepath.Walk(target, func(p string, fi os.FileInfo, err error) error {
				if err == nil && fi.Mode().IsRegular() {
					onDisk++
					want, rerr := os.ReadFile(filepath.Join(src, strings.TrimPrefix(p, filepath.Join(target, src))))
					got, _ := os.ReadFile(p)
					if rerr != nil || !bytes.Equal(got, want) {
						t.Errorf("%s is on disk with wrong content after the interruption", p)
					}
				}
				return nil
			})
			if restored := int(sum["files_restored"].(float64)); restored != onDisk || restored >= 48 {
				t.Errorf("summary says %d files restored, %d are on disk, of 48", restored, onDisk)
			}
			if !strings.Contains(s.stderr.String(), "interrupted") {
				t.Errorf("stderr does not say interrupted: %s", s.stderr)
			}
			noLocks(t, repoDir)
		})
	}
	// Text output names the interruption too.
	s := startStalled(t, env, 3, "restore", "latest", "--target", t.TempDir())
	if code := s.stop(t, syscall.SIGINT); code != 130 || !strings.Contains(s.stdout.String(), "was interrupted") ||
		strings.Contains(s.stdout.String(), "restored snapshot") {
		t.Errorf("exit %d, stdout %q", code, s.stdout)
	}
}

var _ = json.Valid

// TestLongCommandsInterrupted: every long command stops when signalled in
// the middle of its reads, exits 130, says so, and leaves no lock.
func TestLongCommandsInterrupted(t *testing.T) {
	env, repoDir, src := smallPackRepo(t, 48)
	// A second snapshot, then the first forgotten, gives prune packs to repack.
	put(t, filepath.Join(src, "extra"), strings.Repeat("more data ", 5000))
	mustRun(t, env, "backup", "--compression", "off", src)
	first := strings.Fields(mustRun(t, env, "snapshots", "--json"))
	_ = first
	dst := filepath.Join(t.TempDir(), "copy")
	mustRun(t, []string{"CAIRN_PASSWORD=pw", "CAIRN_REPOSITORY=" + dst}, "init")
	for _, tc := range []struct {
		name string
		args []string
		want string // on stdout or stderr
	}{
		{"check", []string{"check", "--read-data"}, "interrupted"},
		{"dump", []string{"dump", "latest", src}, "interrupted"},
		{"copy", []string{"copy", "--from-repo", repoDir, "--from-password-file", writePw(t, "pw"), "-r", dst}, "interrupted"},
		{"repair", []string{"repair", "index", "--read-data"}, "interrupted"},
		{"prune", []string{"prune", "--max-unused", "0"}, "interrupted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "prune" {
				mustRun(t, env, "forget", "--keep-last", "1")
			}
			s := startStalled(t, env, 2, tc.args...)
			code := s.stop(t, syscall.SIGINT)
			if code != 130 || !strings.Contains(s.stdout.String()+s.stderr.String(), tc.want) {
				t.Errorf("exit %d, want 130 and %q\nstdout: %.300s\nstderr: %s", code, tc.want, s.stdout, s.stderr)
			}
			noLocks(t, repoDir)
			noLocks(t, dst)
			if r := cairn(t, env, "check"); r.code != 0 {
				t.Errorf("check after interrupted %s: %s", tc.name, r.stderr)
			}
		})
	}
}

func writePw(t *testing.T, pw string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pw")
	put(t, p, pw)
	return p
}
