//go:build linux

package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/assurance"
	"github.com/cairn-backup/cairn/backend/local"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
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
	copied         chan struct{} // closed when the rest of stderr is read
}

// startStalled runs cairn with its pack reads stalling after loads reads,
// and returns once the first read has stalled: the process is then
// mid-command, waiting, and the test can signal it. No sleep is involved.
func startStalled(t *testing.T, env []string, loads int, args ...string) *stalled {
	t.Helper()
	cmd := exec.Command(cairnBin, args...)
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), fmt.Sprintf("%s=%d", stallEnv, loads)}, env...)
	return startStalledCmd(t, &stalled{cmd: cmd, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}})
}

// startStalledCmd starts s.cmd, whose environment asks for a stall, and
// returns once the stall marker is on its stderr.
func startStalledCmd(t *testing.T, s *stalled) *stalled {
	t.Helper()
	cmd := s.cmd
	args := cmd.Args[1:]
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
	s.copied = make(chan struct{})
	go func() {
		defer close(s.copied)
		_, _ = io.Copy(s.stderr, rd)
	}()
	return s
}

// stop sends sig and returns the exit code.
func (s *stalled) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	<-s.copied // stderr reaches EOF when the process has exited
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

// TestLongCommandsInterrupted: every long command stops when signalled in
// the middle of its reads, exits 130, says so, and leaves no lock.
func TestLongCommandsInterrupted(t *testing.T) {
	env, repoDir, src := smallPackRepo(t, 48)
	// A second snapshot, then the first forgotten, gives prune packs to repack.
	put(t, filepath.Join(src, "extra"), strings.Repeat("more data ", 5000))
	mustRun(t, env, "backup", "--compression", "off", src)
	dst := filepath.Join(t.TempDir(), "copy")
	mustRun(t, []string{"CAIRN_PASSWORD=pw", "CAIRN_REPOSITORY=" + dst}, "init")
	for _, tc := range []struct {
		name string
		args []string
		want string // on stdout or stderr
	}{
		{"check", []string{"check", "--read-data"}, "check was interrupted"},
		{"dump", []string{"dump", "latest", src}, "cairn: interrupted"},
		{"copy", []string{"copy", "--from-repo", repoDir, "--from-password-file", writePw(t, "pw"), "-r", dst}, "interrupted after copying 0 of 2 snapshots"},
		{"repair", []string{"repair", "index", "--read-data"}, "repair index was interrupted"},
		{"prune", []string{"prune", "--max-unused", "0"}, "prune was interrupted"},
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

// hostileSnapshot stores, through the library, a snapshot whose tree holds
// names restore refuses beside ordinary files, as a malicious or broken
// client could write it.
func hostileSnapshot(t *testing.T, env []string, repoDir string) {
	t.Helper()
	ctx := context.Background()
	be, err := local.Open(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte("pw"), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l, err := r.Lock(ctx, repo.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	file := func(name, content string) snapshot.Node {
		id, _, err := r.SaveBlob(ctx, blob.Data, []byte(content))
		if err != nil {
			t.Fatal(err)
		}
		return snapshot.Node{Name: name, Type: snapshot.TypeFile, Mode: 0o644, Size: uint64(len(content)), Content: []blob.ID{id}}
	}
	dir := func(name string, nodes ...snapshot.Node) snapshot.Node {
		tr := &snapshot.Tree{Nodes: nodes}
		tr.Sort()
		id, _, err := r.SaveBlob(ctx, blob.Tree, tr.Encode())
		if err != nil {
			t.Fatal(err)
		}
		return snapshot.Node{Name: name, Type: snapshot.TypeDir, Mode: 0o755, Subtree: id}
	}
	root := dir("", dir("h", file("../x", "escape up"), file("/abs", "absolute"), file("a/b", "nested"),
		file("n\x00ul", "nul"), file("..", "dotdot"), file("good", "fine"), dir("sub", file("ok", "ok"))))
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s := &snapshot.Snapshot{Time: time.Now(), Tree: root.Subtree, Host: "evil", Paths: []string{"/h"}}
	if err := r.SaveSnapshot(ctx, s); err != nil {
		t.Fatal(err)
	}
}

// TestHostileNamesNeverLeave: names that restore refuses are refused by
// dump, ls, find and diff too, shown escaped, and the exit code is 1.
func TestHostileNamesNeverLeave(t *testing.T) {
	env, repoDir, _ := smallPackRepo(t, 2)
	hostileSnapshot(t, env, repoDir)
	wantNamed := []string{`"../x"`, `"/abs"`, `"a/b"`, `"n\x00ul"`, `".."`}
	checkRefused := func(what string, r result) {
		t.Helper()
		if r.code != 1 {
			t.Errorf("%s: exit %d, want 1\nstderr: %s", what, r.code, r.stderr)
		}
		for _, n := range wantNamed {
			if !strings.Contains(r.stderr, n) {
				t.Errorf("%s: stderr does not name %s:\n%s", what, n, r.stderr)
			}
		}
	}

	// dump: the tar holds only the safe entries, and extracting it with
	// GNU tar writes nothing outside the extraction directory.
	r := cairn(t, env, "dump", "--host", "evil", "latest", "/h")
	checkRefused("dump", r)
	tr := tar.NewReader(strings.NewReader(r.stdout))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("dump wrote an unreadable tar: %v", err)
		}
		names = append(names, h.Name)
	}
	if got, want := strings.Join(names, " "), "h/ h/good h/sub/ h/sub/ok"; got != want {
		t.Errorf("tar entries %q, want %q", got, want)
	}
	out := t.TempDir()
	x := exec.Command("tar", "-x", "-C", filepath.Join(out))
	x.Stdin = strings.NewReader(r.stdout)
	if b, err := x.CombinedOutput(); err != nil {
		t.Errorf("tar -x: %v\n%s", err, b)
	}

	r = cairn(t, env, "ls", "--host", "evil", "latest")
	checkRefused("ls", r)
	if strings.Contains(r.stdout, "/x\n") || strings.Contains(r.stdout, "/abs\n") || strings.Contains(r.stdout, "/h/a/b") {
		t.Errorf("ls shows a cleaned hostile name:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "/h/good") {
		t.Errorf("ls lost the safe entries:\n%s", r.stdout)
	}
	r = cairn(t, env, "find", "--host", "evil", "*")
	checkRefused("find", r)
	var snaps []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "snapshots", "--json")), &snaps); err != nil || len(snaps) != 2 {
		t.Fatalf("snapshots: %v", err)
	}
	r = cairn(t, env, "diff", snaps[0]["id"].(string), snaps[1]["id"].(string))
	checkRefused("diff", r)
	r = cairn(t, env, "restore", "--host", "evil", "latest", "--target", t.TempDir())
	checkRefused("restore", r)
}

// TestConfigPathsRelativeToFile: relative paths in cairn.toml are relative
// to the file, whatever directory cairn runs from; hooks run in the file's
// directory; status then reports the source as protected.
func TestConfigPathsRelativeToFile(t *testing.T) {
	dir := t.TempDir()
	put(t, filepath.Join(dir, "conf", "pw"), "relative password\n")
	writeTree(t, filepath.Join(dir, "conf", "data"), 3, 4<<10, 3)
	mustRun(t, []string{"CAIRN_PASSWORD_FILE=" + filepath.Join(dir, "conf", "pw")}, "-r", filepath.Join(dir, "conf", "repo"), "init")
	put(t, filepath.Join(dir, "conf", "cairn.toml"), `state-dir = "state"

[repositories.local]
url = "repo"
password-file = "pw"

[sources.docs]
paths = ["data"]
targets = ["local"]
schedule = "@daily"
[sources.docs.hooks]
before = ["pwd > hook-dir"]
`)
	elsewhere := t.TempDir()
	run := func(args ...string) result {
		t.Helper()
		cmd := exec.Command(cairnBin, args...)
		cmd.Dir = elsewhere
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return result{out.String(), errb.String(), code}
	}
	conf := filepath.Join(dir, "conf", "cairn.toml")
	if r := run("--config", conf, "run", "docs"); r.code != 0 {
		t.Fatalf("run from another directory: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "conf", "state", "docs.json")); err != nil {
		t.Errorf("state not written below the file's directory: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "conf", "hook-dir")); strings.TrimSpace(string(got)) != filepath.Join(dir, "conf") {
		t.Errorf("hook ran in %q, want the configuration's directory", got)
	}
	if r := run("--config", conf, "status"); r.code != 0 || strings.Contains(r.stdout, "MISSED") {
		t.Errorf("status from another directory: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Generated crontab lines and units hold absolute paths only.
	crontab := filepath.Join(dir, "crontab")
	units := filepath.Join(dir, "units")
	if r := run("--config", "../"+filepath.Base(dir)+"/conf/cairn.toml", "schedule", "install", "--cron", "--crontab-file", crontab); r.code != 0 {
		t.Fatalf("schedule install: %s", r.stderr)
	}
	if r := run("--config", conf, "schedule", "install", "--unit-dir", units, "--no-enable"); r.code != 0 {
		t.Fatalf("schedule install: %s", r.stderr)
	}
	service, _ := os.ReadFile(filepath.Join(units, "cairn-docs.service"))
	tab, _ := os.ReadFile(crontab)
	for _, f := range strings.Fields(string(tab) + " " + string(service)) {
		if strings.Contains(f, "cairn.toml") || strings.Contains(f, "/state") {
			if !strings.HasPrefix(strings.Trim(f, `"'>`), "/") {
				t.Errorf("schedule holds a relative path %q:\n%s\n%s", f, tab, service)
			}
		}
	}
	if !strings.Contains(string(tab), filepath.Join(dir, "conf", "cairn.toml")) || !strings.Contains(string(service), filepath.Join(dir, "conf", "cairn.toml")) {
		t.Errorf("schedule does not name the configuration by its absolute path:\n%s\n%s", tab, service)
	}
}

// TestGateNoGoPrintsNoEmptyFacts: a no-go gate that found no snapshot says
// "none" instead of an empty hash and a zero time.
func TestGateNoGoPrintsNoEmptyFacts(t *testing.T) {
	var out bytes.Buffer
	g := &globals{stdout: &out, stderr: io.Discard}
	printGate(g, &assurance.GateRecord{Source: "app", Verdict: "no-go", Runbook: "/x/app.md", Reasons: []string{"no snapshot of app in local"}})
	s := out.String()
	for _, bad := range []string{"0001-01-01", "()", "sha256 )", "tree hash  \n"} {
		if strings.Contains(s, bad) {
			t.Errorf("gate output shows %q:\n%s", bad, s)
		}
	}
	if !strings.Contains(s, "tree hash  none") || !strings.Contains(s, "no-go:     no snapshot") {
		t.Errorf("gate output:\n%s", s)
	}
}

// TestKilledBackupIsResumed: a first backup killed with SIGKILL after a few
// pack uploads leaves packs no index names; the next backup adopts them
// and uploads only the rest. A backup stopped with SIGINT indexes what it
// stored, exits 130 and says so.
func TestKilledBackupIsResumed(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			repoDir := filepath.Join(t.TempDir(), "repo")
			env := []string{"CAIRN_PASSWORD=pw", "CAIRN_REPOSITORY=" + repoDir}
			mustRun(t, env, "init", "--pack-size", "64KiB")
			src := t.TempDir()
			writeTree(t, src, 40, 40<<10, 11)
			cmd := exec.Command(cairnBin, "backup", "--compression", "off", src)
			cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), stallSaveEnv + "=6"}, env...)
			s := &stalled{cmd: cmd, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
			s = startStalledCmd(t, s)
			code := s.stop(t, sig)
			if sig == syscall.SIGINT && (code != 130 || !strings.Contains(s.stderr.String(), "packs stored so far are indexed")) {
				t.Errorf("interrupted backup: exit %d\n%s", code, s.stderr)
			}
			if n := snapshotCount(t, env); n != 0 {
				t.Fatalf("%d snapshots after the stopped backup", n)
			}
			r := cairn(t, env, "backup", "--compression", "off", "--json", src)
			if r.code != 0 {
				t.Fatalf("second backup: exit %d\n%s", r.code, r.stderr)
			}
			sum := lastJSON(t, r.stdout)
			added, total := sum["data_added"].(float64), sum["total_bytes_processed"].(float64)
			if added >= total*0.95 {
				t.Errorf("second backup added %.0f of %.0f bytes: the stopped backup's packs were not reused", added, total)
			}
			if sig == syscall.SIGKILL && !strings.Contains(r.stderr, "adopted") {
				t.Errorf("second backup does not say it adopted packs:\n%s", r.stderr)
			}
			if r := cairn(t, env, "check", "--read-data"); r.code != 0 || strings.Contains(r.stdout, "not referenced") {
				t.Errorf("check after resuming: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			target := t.TempDir()
			mustRun(t, env, "restore", "latest:"+src, "--target", target)
			sameTrees(t, src, target)
		})
	}
}

// TestRunAndDrillInterrupted: cairn run and cairn drill, stopped while
// their child command waits on the storage, stop that child, exit 130,
// and record no drill result.
func TestRunAndDrillInterrupted(t *testing.T) {
	dir := t.TempDir()
	put(t, filepath.Join(dir, "pw"), "pw\n")
	writeTree(t, filepath.Join(dir, "data"), 30, 40<<10, 5)
	repoDir := filepath.Join(dir, "repo")
	mustRun(t, []string{"CAIRN_PASSWORD=pw"}, "-r", repoDir, "init", "--pack-size", "64KiB")
	conf := filepath.Join(dir, "cairn.toml")
	put(t, conf, `state-dir = "state"
[repositories.local]
url = "repo"
password-file = "pw"
[sources.docs]
paths = ["data"]
targets = ["local"]
`)
	for _, tc := range []struct {
		name, env string
		args      []string
	}{
		{"run", stallSaveEnv + "=3", []string{"--config", conf, "run", "docs"}},
		{"drill", stallEnv + "=2", []string{"--config", conf, "drill", "docs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "drill" {
				mustRun(t, nil, "--config", conf, "run", "docs")
			}
			marker := filepath.Join(t.TempDir(), "stalled")
			cmd := exec.Command(cairnBin, tc.args...)
			cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), tc.env, stallFileEnv + "=" + marker}
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			// Wait on the child's state: the marker file it creates when
			// its storage stalls (a poll of the file system, not a sleep
			// standing in for synchronisation).
			for {
				if _, err := os.Stat(marker); err == nil {
					break
				}
				select {
				case err := <-exited:
					t.Fatalf("%s ended before stalling: %v\n%s%s", tc.name, err, out.String(), errb.String())
				case <-time.After(10 * time.Millisecond):
				}
			}
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			err := <-exited
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != 130 {
				t.Errorf("%s: exit %d, want 130\n%s%s", tc.name, code, out.String(), errb.String())
			}
			if tc.name == "run" {
				// The step stopped says so in words; the steps after it
				// never started and say that, not "failed".
				o := out.String()
				if strings.Contains(o+errb.String(), "context canceled") || !strings.Contains(o, "docs: backup local: failed: interrupted (Ctrl-C or SIGTERM)") ||
					!strings.Contains(o, "docs: check local: skipped: not run: the run was interrupted") || !strings.Contains(o, "docs: interrupted after") {
					t.Errorf("interrupted run's report:\n%s%s", o, errb.String())
				}
			}
			noLocks(t, repoDir)
			if tc.name == "drill" {
				if r := cairn(t, nil, "--config", conf, "drills", "docs", "--json"); strings.Contains(r.stdout, `"pass"`) {
					t.Errorf("an interrupted drill was recorded: %s", r.stdout)
				}
			}
		})
	}
}

// TestJSONSummariesAreTheMessageTypes: every --json summary the
// operations layer reads decodes into its type in package message with no
// field left over, so a renamed field cannot silently read as zero.
func TestJSONSummariesAreTheMessageTypes(t *testing.T) {
	env, repoDir, src := smallPackRepo(t, 4)
	dst := filepath.Join(t.TempDir(), "copy")
	mustRun(t, []string{"CAIRN_PASSWORD=pw", "CAIRN_REPOSITORY=" + dst}, "init")
	strict := func(out string, v any) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		dec := json.NewDecoder(strings.NewReader(lines[len(lines)-1]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Errorf("%T: %v\n%s", v, err, out)
		}
		if err := message.Last([]byte(out), v); err != nil {
			t.Errorf("%T: %v", v, err)
		}
	}
	var b message.BackupSummary
	strict(mustRun(t, env, "backup", "--json", src), &b)
	if b.SnapshotID == "" || b.TotalFilesProcessed != 4 {
		t.Errorf("backup summary %+v", b)
	}
	var r message.RestoreSummary
	strict(mustRun(t, env, "restore", "latest", "--target", t.TempDir(), "--json"), &r)
	var c message.CheckSummary
	strict(mustRun(t, env, "check", "--json", "--rolling", "50%"), &c)
	if !c.OK || c.Rolling == nil || c.PacksRead == 0 {
		t.Errorf("check summary %+v", c)
	}
	var cp message.CopySummary
	strict(mustRun(t, env, "copy", "--json", "--from-repo", repoDir, "--from-password-file", writePw(t, "pw"), "-r", dst), &cp)
	if cp.SnapshotsCopied != 2 {
		t.Errorf("copy summary %+v", cp)
	}
	var p message.PruneSummary
	strict(mustRun(t, env, "prune", "--json"), &p)
	var s message.StatsSummary
	strict(mustRun(t, env, "stats", "--json"), &s)
	if s.RepositorySize == 0 || s.SnapshotsCount != 2 {
		t.Errorf("stats summary %+v", s)
	}
}
