//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/cairn-backup/cairn/message"
)

// repoEnv makes a fresh repository and returns the environment that
// addresses it.
func repoEnv(t *testing.T) []string {
	t.Helper()
	env := []string{"CAIRN_PASSWORD=e2e password", "CAIRN_REPOSITORY=" + filepath.Join(t.TempDir(), "repo")}
	mustRun(t, env, "init")
	return env
}

func put(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lastJSON decodes the last JSON line of out.
func lastJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("decode %q: %v", lines[len(lines)-1], err)
	}
	return m
}

// metadata lists every entry below dir with its type, mode, owner, size,
// mtime, link target and content, for comparing trees.
func metadata(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		rel, _ := filepath.Rel(dir, p)
		line := fmt.Sprintf("%q %v %d:%d", rel, fi.Mode(), st.Uid, st.Gid)
		if rel != "." {
			line += fmt.Sprintf(" %d", fi.ModTime().UnixNano())
		}
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			// The first bytes catch most mix-ups; diff -r compares in full.
			line += fmt.Sprintf(" %d %x", fi.Size(), data[:min(len(data), 64)])
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func sameTrees(t *testing.T, a, b string) {
	t.Helper()
	ma, mb := metadata(t, a), metadata(t, b)
	if len(ma) != len(mb) {
		t.Fatalf("%d entries restored, want %d", len(mb), len(ma))
	}
	for i := range ma {
		if ma[i] != mb[i] {
			t.Fatalf("entry differs:\n got %s\nwant %s", mb[i], ma[i])
		}
	}
	if out, err := exec.Command("diff", "-r", "--no-dereference", a, b).CombinedOutput(); err != nil {
		t.Fatalf("contents differ: %v\n%s", err, out)
	}
}

// The "done when" check of backup and restore: the Go toolchain's own
// source tree comes back byte-identical with identical metadata, and a
// second backup reads nothing.
func TestGoSourceRoundTrip(t *testing.T) {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	src := filepath.Join(strings.TrimSpace(string(goroot)), "src")
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("Go source tree not found at %s: %v", src, err)
	}
	env := repoEnv(t)
	first := lastJSON(t, mustRun(t, env, "backup", "--json", src))
	if first["files_new"].(float64) < 5000 {
		t.Fatalf("first backup saw only %v files", first["files_new"])
	}
	second := lastJSON(t, mustRun(t, env, "backup", "--json", src))
	if second["files_new"] != 0.0 || second["files_changed"] != 0.0 || second["bytes_read"] != 0.0 {
		t.Errorf("second backup: new %v changed %v read %v bytes; want 0, 0, 0",
			second["files_new"], second["files_changed"], second["bytes_read"])
	}
	target := t.TempDir()
	out := lastJSON(t, mustRun(t, env, "restore", "latest:"+src, "--target", target, "--verify", "--json"))
	if out["files_verified"] != first["files_new"] {
		t.Errorf("verified %v files, backed up %v", out["files_verified"], first["files_new"])
	}
	sameTrees(t, src, target)
}

func TestBackupExcludes(t *testing.T) {
	env := repoEnv(t)
	src := t.TempDir()
	put(t, filepath.Join(src, "keep.go"), "package keep")
	put(t, filepath.Join(src, "drop.o"), "object")
	put(t, filepath.Join(src, "KEEP.O"), "case differs")
	put(t, filepath.Join(src, "node_modules", "x", "index.js"), "js")
	put(t, filepath.Join(src, "cache", "CACHEDIR.TAG"), "Signature: 8a477f597d28d172789f06886806bc55\n")
	put(t, filepath.Join(src, "cache", "blob"), "cached")
	put(t, filepath.Join(src, "private", ".nobackup"), "")
	put(t, filepath.Join(src, "private", "secret"), "s")
	put(t, filepath.Join(src, "logs", "a.log"), "log")
	put(t, filepath.Join(src, "sub", "logs"), "a file called logs")
	exFile := filepath.Join(t.TempDir(), "excludes")
	put(t, exFile, "# comment\nlogs/\n")
	mustRun(t, env, "backup", "--exclude", "*.o", "--exclude", "node_modules", "--exclude-file", exFile,
		"--exclude-caches", "--exclude-if-present", ".nobackup", src)
	got := mustRun(t, env, "ls", "latest", src)
	for _, want := range []string{"keep.go", "KEEP.O", "sub/logs"} {
		if !strings.Contains(got, want) {
			t.Errorf("%s missing from snapshot:\n%s", want, got)
		}
	}
	for _, bad := range []string{"drop.o", "node_modules", "cache", "private", "a.log"} {
		if strings.Contains(got, bad) {
			t.Errorf("%s should have been excluded:\n%s", bad, got)
		}
	}
	mustRun(t, env, "backup", "--iexclude", "*.o", src)
	if got := mustRun(t, env, "ls", "latest", src); strings.Contains(got, "KEEP.O") {
		t.Errorf("--iexclude kept KEEP.O")
	}
}

func TestBackupStdin(t *testing.T) {
	env := repoEnv(t)
	cmd := exec.Command(cairnBin, "backup", "--stdin", "--stdin-filename", "dump.sql", "--tag", "db")
	cmd.Env = env
	cmd.Stdin = strings.NewReader("CREATE TABLE t (x int);\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("backup --stdin: %v\n%s", err, out)
	}
	if got := mustRun(t, env, "dump", "latest", "/dump.sql"); got != "CREATE TABLE t (x int);\n" {
		t.Errorf("dump = %q", got)
	}
	mustRun(t, env, "backup", "--stdin-from-command", "--stdin-filename", "gen.txt", "--", "sh", "-c", "echo generated")
	if got := mustRun(t, env, "dump", "latest", "/gen.txt"); got != "generated\n" {
		t.Errorf("dump of command output = %q", got)
	}
	before := snapshotCount(t, env)
	r := cairn(t, env, "backup", "--stdin-from-command", "--", "sh", "-c", "echo partial; exit 3")
	if r.code == 0 || !strings.Contains(r.stderr, "no snapshot was made") {
		t.Errorf("failing command: exit %d, %q", r.code, r.stderr)
	}
	if after := snapshotCount(t, env); after != before {
		t.Errorf("a failing command left a snapshot (%d -> %d)", before, after)
	}
}

func snapshotCount(t *testing.T, env []string) int {
	t.Helper()
	var snaps []any
	if err := json.Unmarshal([]byte(mustRun(t, env, "snapshots", "--json")), &snaps); err != nil {
		t.Fatal(err)
	}
	return len(snaps)
}

// TestBackupUnreadableExit3 backs up a tree with a directory its user may
// not read. Root reads everything, so under root the backup runs as the
// unprivileged user 65534 (nobody), owning the repository.
func TestBackupUnreadableExit3(t *testing.T) {
	env := repoEnv(t)
	base := t.TempDir()
	src := filepath.Join(base, "src")
	put(t, filepath.Join(src, "ok"), "fine")
	locked := filepath.Join(src, "locked")
	put(t, filepath.Join(locked, "inner"), "hidden")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Chmod(locked, 0o755) }()
	cmd := exec.Command(cairnBin, "backup", src)
	cmd.Env = env
	if os.Geteuid() == 0 {
		repoDir := strings.TrimPrefix(env[1], "CAIRN_REPOSITORY=")
		dropPrivileges(t, cmd, repoDir, []string{filepath.Dir(cairnBin), base, filepath.Dir(repoDir)})
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 3 || !strings.Contains(stderr.String(), "locked") || strings.Count(stderr.String(), "error:") != 1 {
		t.Errorf("exit %d, stderr %q; want 3 with one line naming the unreadable directory", code, stderr.String())
	}
	if snapshotCount(t, env) != 1 {
		t.Error("no snapshot saved despite unreadable files")
	}
	if out := mustRun(t, env, "ls", "latest", src); !strings.Contains(out, "/ok") {
		t.Errorf("readable file missing from the snapshot:\n%s", out)
	}
}

// dropPrivileges makes cmd run as user and group 65534, giving that user
// the repository and read access along the way to dirs.
func dropPrivileges(t *testing.T, cmd *exec.Cmd, repoDir string, dirs []string) {
	t.Helper()
	const nobody = 65534
	err := filepath.Walk(repoDir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		for p := d; p != "/" && p != "."; p = filepath.Dir(p) {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm()&0o005 != 0o005 {
				if err := os.Chmod(p, fi.Mode().Perm()|0o005); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
}

func TestBackupInterrupted(t *testing.T) {
	env := repoEnv(t)
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
	// A pipe holds 64 KiB: this write returns only once cairn has read
	// most of the mebibyte, so it has opened the repository and is in
	// the middle of the backup. No sleep needed.
	if _, err := stdin.Write(bytes.Repeat([]byte("x"), 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	_ = stdin.Close()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("interrupted backup: %v, stderr %q; want exit 130", err, stderr.String())
	}
	if n := snapshotCount(t, env); n != 0 {
		t.Errorf("interrupted backup left %d snapshots", n)
	}
}

func TestRestoreOverwriteAndFilters(t *testing.T) {
	env := repoEnv(t)
	src := t.TempDir()
	put(t, filepath.Join(src, "a.txt"), "A")
	put(t, filepath.Join(src, "b.conf"), "B")
	put(t, filepath.Join(src, "d", "c.conf"), "C")
	mustRun(t, env, "backup", src)
	target := t.TempDir()
	mustRun(t, env, "restore", "latest:"+src, "--target", target, "--include", "*.conf")
	if _, err := os.Stat(filepath.Join(target, "a.txt")); err == nil {
		t.Error("--include restored a.txt")
	}
	for _, p := range []string{"b.conf", "d/c.conf"} {
		if _, err := os.Stat(filepath.Join(target, p)); err != nil {
			t.Errorf("--include did not restore %s", p)
		}
	}
	// never: a changed local file is kept.
	put(t, filepath.Join(target, "b.conf"), "local edit")
	mustRun(t, env, "restore", "latest:"+src, "--target", target, "--overwrite", "never")
	if data, _ := os.ReadFile(filepath.Join(target, "b.conf")); string(data) != "local edit" {
		t.Errorf("--overwrite never replaced a file: %q", data)
	}
	// if-changed: finished files are skipped, changed ones rewritten.
	out := lastJSON(t, mustRun(t, env, "restore", "latest:"+src, "--target", target, "--overwrite", "if-changed", "--json"))
	if out["files_skipped"] != 2.0 || out["files_restored"] != 1.0 {
		t.Errorf("if-changed: %v skipped, %v restored; want 2, 1", out["files_skipped"], out["files_restored"])
	}
	if data, _ := os.ReadFile(filepath.Join(target, "b.conf")); string(data) != "B" {
		t.Errorf("if-changed kept a changed file: %q", data)
	}
}

func TestEverydayCommands(t *testing.T) {
	env := repoEnv(t)
	src := t.TempDir()
	put(t, filepath.Join(src, "one.txt"), "1")
	put(t, filepath.Join(src, "dir", "two.txt"), "22")
	mustRun(t, env, "backup", "--tag", "first", "--time", "2024-01-02 03:04:05", src)
	put(t, filepath.Join(src, "three.txt"), "333")
	if err := os.Remove(filepath.Join(src, "one.txt")); err != nil {
		t.Fatal(err)
	}
	put(t, filepath.Join(src, "dir", "two.txt"), "changed")
	mustRun(t, env, "backup", src)

	var snaps []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "snapshots", "--json")), &snaps); err != nil || len(snaps) != 2 {
		t.Fatalf("snapshots --json: %v %v", snaps, err)
	}
	first, second := snaps[0]["short_id"].(string), snaps[1]["short_id"].(string)
	if !strings.HasPrefix(snaps[0]["time"].(string), "2024-01-02") {
		t.Errorf("--time not recorded: %v", snaps[0]["time"])
	}
	if snaps[1]["parent"] != snaps[0]["id"] {
		t.Errorf("second snapshot's parent = %v, want %v", snaps[1]["parent"], snaps[0]["id"])
	}
	if out := mustRun(t, env, "snapshots", "--tag", "first"); !strings.Contains(out, first) || strings.Contains(out, second) {
		t.Errorf("snapshots --tag first:\n%s", out)
	}
	if out := mustRun(t, env, "snapshots", "--group-by", "host,paths"); !strings.Contains(out, "snapshots for (host") {
		t.Errorf("--group-by output:\n%s", out)
	}
	if out := mustRun(t, env, "ls", "-l", first, src); !strings.Contains(out, "one.txt") || !strings.Contains(out, "-rw-r--r--") {
		t.Errorf("ls -l:\n%s", out)
	}
	if out := mustRun(t, env, "find", "two.*"); strings.Count(out, "dir/two.txt") != 2 {
		t.Errorf("find:\n%s", out)
	}
	diff := mustRun(t, env, "diff", first, second)
	for _, want := range []string{"+    " + src + "/three.txt", "-    " + src + "/one.txt", "M    " + src + "/dir/two.txt"} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	if got := mustRun(t, env, "dump", second, src+"/dir/two.txt"); got != "changed" {
		t.Errorf("dump file = %q", got)
	}
	tarOut := mustRun(t, env, "dump", second, src+"/dir")
	tarCmd := exec.Command("tar", "tf", "-")
	tarCmd.Stdin = strings.NewReader(tarOut)
	if out, err := tarCmd.Output(); err != nil || !strings.Contains(string(out), "dir/two.txt") {
		t.Errorf("dump dir as tar: %v %q", err, out)
	}
	stats := lastJSON(t, mustRun(t, env, "stats", "--json"))
	if stats["snapshots_count"] != 2.0 || stats["total_file_count"] != 4.0 {
		t.Errorf("stats: %v", stats)
	}
	mustRun(t, env, "tag", "--add", "keep", "--remove", "first", first)
	if out := mustRun(t, env, "snapshots", "--tag", "keep", "--json"); !strings.Contains(out, `"original"`) {
		t.Errorf("retagged snapshot lacks original: %s", out)
	}
	if n := snapshotCount(t, env); n != 2 {
		t.Errorf("%d snapshots after tag, want 2", n)
	}
}

func TestCatObjects(t *testing.T) {
	env := repoEnv(t)
	src := t.TempDir()
	put(t, filepath.Join(src, "f.txt"), "cat me")
	mustRun(t, env, "backup", src)
	repoDir := strings.TrimPrefix(env[1], "CAIRN_REPOSITORY=")
	idx, err := os.ReadDir(filepath.Join(repoDir, "index"))
	if err != nil || len(idx) != 1 {
		t.Fatalf("index files: %v %v", idx, err)
	}
	var index message.IndexFile
	if err := strictJSON(mustRun(t, env, "cat", "index", idx[0].Name()[:10]), &index); err != nil || len(index.Packs) != 2 {
		t.Fatalf("cat index: %+v %v", index, err)
	}
	found := false
	for _, p := range index.Packs {
		var pk message.Pack
		if err := strictJSON(mustRun(t, env, "cat", "pack", p.ID[:12]), &pk); err != nil || pk.ID != p.ID || pk.Size == 0 ||
			len(pk.Blobs) != len(p.Blobs) || pk.Blobs[0] != p.Blobs[0] {
			t.Errorf("cat pack %s: %v %+v, want the index's blobs %+v", p.ID[:8], err, pk, p.Blobs)
		}
		for _, b := range p.Blobs {
			if b.Type == "data" && mustRun(t, env, "cat", "blob", b.ID) == "cat me" {
				found = true
			}
		}
	}
	if !found {
		t.Error("cat blob did not print the file's content")
	}
}

// TestBackupMissingPath: backing up A, B and a missing path backs up A
// and B, names the missing one, and exits 3 (restic's behaviour), so a
// nightly job with one unmounted disk still protects the rest; with
// --fail-on-missing nothing is backed up and the exit code is 1; every
// path missing is always an error.
func TestBackupMissingPath(t *testing.T) {
	env := repoEnv(t)
	a, b := t.TempDir(), t.TempDir()
	put(t, filepath.Join(a, "a.txt"), "A")
	put(t, filepath.Join(b, "b.txt"), "B")
	missing := filepath.Join(t.TempDir(), "unmounted-disk")
	r := cairn(t, env, "backup", a, b, missing)
	if r.code != 3 || !strings.Contains(r.stderr, missing+": missing, left out of the snapshot") || !strings.Contains(r.stderr, "1 of the paths to back up are missing") {
		t.Errorf("backup with a missing path: exit %d\n%s", r.code, r.stderr)
	}
	target := t.TempDir()
	mustRun(t, env, "restore", "latest", "--target", target)
	for p, want := range map[string]string{filepath.Join(a, "a.txt"): "A", filepath.Join(b, "b.txt"): "B"} {
		if got, err := os.ReadFile(filepath.Join(target, p)); err != nil || string(got) != want {
			t.Errorf("restored %s: %q %v", p, got, err)
		}
	}
	r = cairn(t, env, "backup", "--json", a, missing)
	if r.code != 3 || !strings.Contains(r.stderr, `"message_type":"error"`) || !strings.Contains(r.stderr, `"item":"`+missing+`"`) {
		t.Errorf("backup --json with a missing path: exit %d\n%s", r.code, r.stderr)
	}
	before := snapshotCount(t, env)
	if r := cairn(t, env, "backup", "--fail-on-missing", a, missing); r.code != 1 || !strings.Contains(r.stderr, "cannot back up "+missing) {
		t.Errorf("backup --fail-on-missing: exit %d\n%s", r.code, r.stderr)
	}
	if r := cairn(t, env, "backup", missing); r.code != 1 || !strings.Contains(r.stderr, "every path to back up is missing") {
		t.Errorf("backup of only a missing path: exit %d\n%s", r.code, r.stderr)
	}
	if n := snapshotCount(t, env); n != before {
		t.Errorf("%d snapshots after refused backups, want %d", n, before)
	}
}
