//go:build linux

package main

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend/local"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/repo"
)

// TestCatSnapshotTreeLockRecord: cat shows snapshots, trees (by snapshot
// and path, or by ID), lock files and records as restic users expect.
func TestCatSnapshotTreeLockRecord(t *testing.T) {
	env, repoDir, src := smallPackRepo(t, 3)
	var snap message.Snapshot
	if err := json.Unmarshal([]byte(mustRun(t, env, "cat", "snapshot", "latest")), &snap); err != nil || snap.Tree == "" {
		t.Fatalf("cat snapshot: %+v, %v", snap, err)
	}
	var tr message.Tree
	if err := json.Unmarshal([]byte(mustRun(t, env, "cat", "tree", "latest:"+src)), &tr); err != nil || len(tr.Nodes) == 0 {
		t.Fatalf("cat tree: %+v, %v", tr, err)
	}
	var root message.Tree
	if err := json.Unmarshal([]byte(mustRun(t, env, "cat", "tree", snap.Tree)), &root); err != nil || root.ID != snap.Tree {
		t.Errorf("cat tree by ID: %+v, %v", root, err)
	}
	if r := cairn(t, env, "cat", "tree", "latest:/no/such/dir"); r.code != 1 || !strings.Contains(r.stderr, "no such path") {
		t.Errorf("cat tree of a missing path: exit %d %s", r.code, r.stderr)
	}
	// A lock and a drill record, written through the library.
	ctx := context.Background()
	be, err := local.Open(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, []byte("pw"), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := r.Lock(ctx, repo.LockOptions{NoRefresh: true})
	if err != nil {
		t.Fatal(err)
	}
	name, err := r.SaveJSONRecord(ctx, repo.KindDrill, map[string]string{"source": "docs"})
	if err != nil {
		t.Fatal(err)
	}
	var lk message.Lock
	if err := json.Unmarshal([]byte(mustRun(t, env, "cat", "lock", l.Info().Name[:8])), &lk); err != nil || lk.PID != os.Getpid() {
		t.Errorf("cat lock: %+v, %v", lk, err)
	}
	_ = l.Unlock()
	var rec message.Record
	if err := json.Unmarshal([]byte(mustRun(t, env, "cat", "record", name[:8])), &rec); err != nil || rec.Kind != int(repo.KindDrill) {
		t.Errorf("cat record: %+v, %v", rec, err)
	}
	if doc, _ := json.Marshal(rec.Document); string(doc) != `{"source":"docs"}` {
		t.Errorf("record document %s", doc)
	}
}

// A subcommand lists its own flags under Flags, not Global Flags.
func TestScheduleFlagsAreTheirOwn(t *testing.T) {
	out := mustRun(t, nil, "schedule", "install", "--help")
	own, global, _ := strings.Cut(out, "Global Flags:")
	if !strings.Contains(own, "--user") || strings.Contains(global, "--user") {
		t.Errorf("schedule install --help:\n%s", out)
	}
}

// list prints file IDs as restic's list does, and every blob.
func TestList(t *testing.T) {
	env, repoDir, _ := smallPackRepo(t, 3)
	snaps := strings.Fields(mustRun(t, env, "list", "snapshots"))
	entries, _ := os.ReadDir(filepath.Join(repoDir, "snapshots"))
	if len(snaps) != 1 || len(entries) != 1 || snaps[0] != entries[0].Name() {
		t.Errorf("list snapshots = %q", snaps)
	}
	blobs := strings.Split(strings.TrimSpace(mustRun(t, env, "list", "blobs")), "\n")
	var data, trees int
	for _, b := range blobs {
		switch {
		case strings.HasPrefix(b, "data "):
			data++
		case strings.HasPrefix(b, "tree "):
			trees++
		}
	}
	if data < 3 || trees == 0 {
		t.Errorf("list blobs: %d data, %d tree blobs", data, trees)
	}
	var packs []string
	if err := json.Unmarshal([]byte(mustRun(t, env, "list", "packs", "--json")), &packs); err != nil || len(packs) == 0 {
		t.Errorf("list packs --json: %v %v", packs, err)
	}
	if r := cairn(t, env, "list", "nonsense"); r.code != 1 || !strings.Contains(r.stderr, "cannot list") {
		t.Errorf("list nonsense: exit %d %s", r.code, r.stderr)
	}
}

// backup --exclude-larger-than leaves out larger files below the paths.
func TestBackupExcludeLargerThan(t *testing.T) {
	env := repoEnv(t)
	src := t.TempDir()
	put(t, filepath.Join(src, "small"), strings.Repeat("s", 100))
	put(t, filepath.Join(src, "big"), strings.Repeat("b", 5000))
	mustRun(t, env, "backup", "--exclude-larger-than", "1KiB", src)
	out := mustRun(t, env, "ls", "latest", src)
	if !strings.Contains(out, src+"/small") || strings.Contains(out, src+"/big") {
		t.Errorf("ls after --exclude-larger-than 1KiB:\n%s", out)
	}
	if r := cairn(t, env, "backup", "--exclude-larger-than", "huge", src); r.code != 1 || !strings.Contains(r.stderr, "want a size") {
		t.Errorf("bad size: exit %d %s", r.code, r.stderr)
	}
}

// --repository-file names the repository; --no-lock reads without a lock
// and is refused by commands that write.
func TestRepositoryFileAndNoLock(t *testing.T) {
	env, repoDir, src := smallPackRepo(t, 2)
	loc := filepath.Join(t.TempDir(), "repo-location")
	put(t, loc, repoDir+"\n")
	noRepo := []string{"CAIRN_PASSWORD=pw"}
	if out := mustRun(t, noRepo, "--repository-file", loc, "snapshots", "--json"); !strings.Contains(out, `"short_id"`) {
		t.Errorf("--repository-file: %s", out)
	}
	// While a --no-lock restore runs (stalled on its reads), no lock file
	// exists; a plain restore has one.
	for _, noLock := range []bool{false, true} {
		args := []string{"restore", "latest", "--target", t.TempDir()}
		if noLock {
			args = append([]string{"--no-lock"}, args...)
		}
		s := startStalled(t, env, 1, args...)
		locks, _ := os.ReadDir(filepath.Join(repoDir, "locks"))
		if (len(locks) == 0) != noLock {
			t.Errorf("no-lock=%v: %d lock files while restoring", noLock, len(locks))
		}
		if code := s.stop(t, syscall.SIGINT); code != 130 {
			t.Errorf("exit %d", code)
		}
	}
	mustRun(t, env, "--no-lock", "check")
	if r := cairn(t, env, "--no-lock", "backup", src); r.code != 1 || !strings.Contains(r.stderr, "only read") {
		t.Errorf("backup --no-lock: exit %d %s", r.code, r.stderr)
	}
}

// backup's restic flags: --files-from (comments, globs), --files-from-raw,
// --force, --ignore-ctime, --with-atime, --read-concurrency.
func TestBackupResticFlags(t *testing.T) {
	env := repoEnv(t)
	src := t.TempDir()
	put(t, filepath.Join(src, "a.txt"), "A")
	put(t, filepath.Join(src, "b.txt"), "B")
	put(t, filepath.Join(src, "c.log"), "C")
	put(t, filepath.Join(src, "d"), "D")
	list := filepath.Join(t.TempDir(), "list")
	put(t, list, "# the text files\n"+filepath.Join(src, "*.txt")+"\n\n")
	raw := filepath.Join(t.TempDir(), "raw")
	put(t, raw, filepath.Join(src, "d")+"\x00")
	sum := lastJSON(t, mustRun(t, env, "backup", "--json", "--files-from", list, "--files-from-raw", raw, "--read-concurrency", "1"))
	if sum["total_files_processed"] != 3.0 {
		t.Errorf("--files-from backed up %v files, want a.txt, b.txt and d", sum["total_files_processed"])
	}
	// --force reads unchanged files again.
	sum = lastJSON(t, mustRun(t, env, "backup", "--json", "--force", "--files-from", list, "--files-from-raw", raw))
	if sum["files_unmodified"] != 0.0 || sum["bytes_read"] != 3.0 {
		t.Errorf("--force: %v unmodified, %v bytes read; want 0 and 3", sum["files_unmodified"], sum["bytes_read"])
	}
	// A chmod changes only the ctime: re-read, unless --ignore-ctime.
	if err := os.Chmod(filepath.Join(src, "d"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum = lastJSON(t, mustRun(t, env, "backup", "--json", "--ignore-ctime", "--files-from", list, "--files-from-raw", raw))
	if sum["files_unmodified"] != 3.0 {
		t.Errorf("--ignore-ctime: %v unmodified, want 3", sum["files_unmodified"])
	}
	// --with-atime records access times, which restore puts back.
	old := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(src, "a.txt"), old, old); err != nil {
		t.Fatal(err)
	}
	mustRun(t, env, "backup", "--with-atime", src)
	target := t.TempDir()
	mustRun(t, env, "restore", "latest:"+src, "--target", target)
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(target, "a.txt"), &st); err != nil || time.Unix(st.Atim.Unix()).UTC() != old {
		t.Errorf("restored atime %v, want %v (%v)", time.Unix(st.Atim.Unix()).UTC(), old, err)
	}
}

// find --snapshot, --oldest/--newest, --blob, --tree and --pack.
func TestFindResticFlags(t *testing.T) {
	env := repoEnv(t)
	src := t.TempDir()
	put(t, filepath.Join(src, "old.txt"), "old content")
	put(t, filepath.Join(src, "new.txt"), "new content")
	put(t, filepath.Join(src, "sub", "x"), "x")
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.Local)
	if err := os.Chtimes(filepath.Join(src, "old.txt"), old, old); err != nil {
		t.Fatal(err)
	}
	mustRun(t, env, "backup", src)
	out := mustRun(t, env, "find", "--newest", "2021-01-01", "*.txt")
	if !strings.Contains(out, "old.txt") || strings.Contains(out, "new.txt") {
		t.Errorf("find --newest 2021-01-01:\n%s", out)
	}
	out = mustRun(t, env, "find", "--oldest", "2021-01-01", "*.txt")
	if strings.Contains(out, "old.txt") || !strings.Contains(out, "new.txt") {
		t.Errorf("find --oldest 2021-01-01:\n%s", out)
	}
	var oldID string
	// The data blob of old.txt, from ls --json and cat: find it by blob.
	blobs := strings.Split(strings.TrimSpace(mustRun(t, env, "list", "blobs")), "\n")
	for _, b := range blobs {
		id := strings.TrimPrefix(b, "data ")
		if id == b {
			continue
		}
		if data := mustRun(t, env, "cat", "blob", id); data == "old content" {
			oldID = id
		}
	}
	out = mustRun(t, env, "find", "--blob", oldID[:10], "--show-pack-id")
	if !strings.Contains(out, "old.txt (blob "+oldID[:8]+" in pack ") || strings.Contains(out, "new.txt") {
		t.Errorf("find --blob:\n%s", out)
	}
	_, pk, _ := strings.Cut(out, " in pack ")
	pk = strings.TrimSuffix(strings.Fields(pk)[0], ")")
	out = mustRun(t, env, "find", "--pack", pk)
	if !strings.Contains(out, "old.txt") {
		t.Errorf("find --pack %s:\n%s", pk, out)
	}
	snaps := strings.Fields(mustRun(t, env, "list", "snapshots"))
	if out := mustRun(t, env, "find", "--snapshot", snaps[0][:8], "x"); !strings.Contains(out, "/sub/x") {
		t.Errorf("find --snapshot:\n%s", out)
	}
	if r := cairn(t, env, "find", "--blob", "--tree", "ab"); r.code != 1 {
		t.Errorf("--blob --tree: exit %d", r.code)
	}
}

// dump --archive zip --target FILE writes a zip that unzips to the tree;
// hostile names stay out of it too.
func TestDumpZipToTarget(t *testing.T) {
	env, repoDir, _ := smallPackRepo(t, 2)
	hostileSnapshot(t, env, repoDir)
	target := filepath.Join(t.TempDir(), "h.zip")
	r := cairn(t, env, "dump", "--host", "evil", "--archive", "zip", "--target", target, "latest", "/h")
	if r.code != 1 || !strings.Contains(r.stderr, `"../x"`) {
		t.Errorf("dump of hostile names to zip: exit %d\n%s", r.code, r.stderr)
	}
	zr, err := zip.OpenReader(target)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "h/ h/good h/sub/ h/sub/ok" {
		t.Errorf("zip entries %q", got)
	}
	rc, err := zr.File[1].Open()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if string(data) != "fine" {
		t.Errorf("h/good holds %q", data)
	}
	if r := cairn(t, env, "dump", "--host", "evil", "--target", target, "latest", "/h"); r.code != 1 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("dump over an existing --target: exit %d %s", r.code, r.stderr)
	}
}

// restore --dry-run writes nothing; --delete removes what the snapshot
// lacks, inside the target only; --include-file reads patterns.
func TestRestoreDryRunDeleteIncludeFile(t *testing.T) {
	env := repoEnv(t)
	src := t.TempDir()
	put(t, filepath.Join(src, "a.conf"), "A")
	put(t, filepath.Join(src, "d", "b.txt"), "B")
	mustRun(t, env, "backup", src)
	target := filepath.Join(t.TempDir(), "t")
	out := lastJSON(t, mustRun(t, env, "restore", "latest:"+src, "--target", target, "--dry-run", "--json"))
	if out["total_files"] != 2.0 || out["dry_run"] != true {
		t.Errorf("dry run summary %v", out)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("a dry run created the target: %v", err)
	}
	// --delete: extra files and directories go, a symlink out of the
	// target is removed itself, never followed.
	outside := t.TempDir()
	put(t, filepath.Join(outside, "precious"), "keep me")
	put(t, filepath.Join(target, "extra.txt"), "x")
	put(t, filepath.Join(target, "olddir", "y"), "y")
	if err := os.Symlink(outside, filepath.Join(target, "link-out")); err != nil {
		t.Fatal(err)
	}
	dry := lastJSON(t, mustRun(t, env, "restore", "latest:"+src, "--target", target, "--delete", "--dry-run", "--json"))
	if dry["files_deleted"] != 3.0 {
		t.Errorf("--delete --dry-run would delete %v entries, want 3", dry["files_deleted"])
	}
	if _, err := os.Stat(filepath.Join(target, "extra.txt")); err != nil {
		t.Errorf("a dry run deleted: %v", err)
	}
	mustRun(t, env, "restore", "latest:"+src, "--target", target, "--delete")
	for _, gone := range []string{"extra.txt", "olddir", "link-out"} {
		if _, err := os.Lstat(filepath.Join(target, gone)); !os.IsNotExist(err) {
			t.Errorf("%s survived --delete: %v", gone, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(outside, "precious")); err != nil || string(b) != "keep me" {
		t.Errorf("--delete reached outside the target: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(target, "d", "b.txt")); err != nil || string(b) != "B" {
		t.Errorf("restored file: %q %v", b, err)
	}
	if r := cairn(t, env, "restore", "latest:"+src, "--target", target, "--delete", "--include", "*.conf"); r.code != 1 {
		t.Errorf("--delete with --include: exit %d", r.code)
	}
	pats := filepath.Join(t.TempDir(), "pats")
	put(t, pats, "*.conf\n")
	t2 := t.TempDir()
	mustRun(t, env, "restore", "latest:"+src, "--target", t2, "--include-file", pats)
	if _, err := os.Stat(filepath.Join(t2, "a.conf")); err != nil {
		t.Errorf("--include-file did not restore a.conf")
	}
	if _, err := os.Stat(filepath.Join(t2, "d", "b.txt")); err == nil {
		t.Errorf("--include-file restored b.txt")
	}
}

// backup -v lists new and changed files with their sizes, -vv unmodified
// ones too; with --json they are verbose_status lines.
func TestBackupVerboseListsFiles(t *testing.T) {
	env := repoEnv(t)
	src := t.TempDir()
	put(t, filepath.Join(src, "a"), "aaaa")
	put(t, filepath.Join(src, "b"), "bb")
	r := cairn(t, env, "backup", "-v", src)
	if !strings.Contains(r.stderr, "new        "+filepath.Join(src, "a")+", 4 B") {
		t.Errorf("backup -v:\n%s", r.stderr)
	}
	put(t, filepath.Join(src, "b"), "changed")
	r = cairn(t, env, "backup", "-v", src)
	if !strings.Contains(r.stderr, "modified   "+filepath.Join(src, "b")) || strings.Contains(r.stderr, "unmodified") {
		t.Errorf("backup -v after a change:\n%s", r.stderr)
	}
	r = cairn(t, env, "backup", "-vv", "--json", src)
	var vs []message.VerboseStatus
	for _, line := range strings.Split(r.stdout, "\n") {
		var v message.VerboseStatus
		if json.Unmarshal([]byte(line), &v) == nil && v.MessageType == "verbose_status" {
			vs = append(vs, v)
		}
	}
	if len(vs) != 2 || vs[0].Action != "unmodified" {
		t.Errorf("backup -vv --json verbose_status lines: %+v\n%s", vs, r.stdout)
	}
}

// generate writes a man page per command and the completion scripts.
func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, nil, "generate", "--man", filepath.Join(dir, "man"), "--bash-completion", filepath.Join(dir, "cairn.bash"),
		"--zsh-completion", filepath.Join(dir, "_cairn"), "--fish-completion", filepath.Join(dir, "cairn.fish"))
	for _, f := range []string{"man/cairn.1", "man/cairn-backup.1", "man/cairn-restore.1", "cairn.bash", "_cairn", "cairn.fish"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	page, _ := os.ReadFile(filepath.Join(dir, "man", "cairn-backup.1"))
	if !strings.Contains(string(page), "exclude-larger-than") {
		t.Errorf("the backup man page lacks its flags")
	}
	if r := cairn(t, nil, "generate"); r.code != 1 {
		t.Errorf("generate with nothing to do: exit %d", r.code)
	}
}

func TestSnapshotsCompact(t *testing.T) {
	env, _, _ := smallPackRepo(t, 1)
	out := mustRun(t, env, "snapshots", "--compact")
	if !strings.HasPrefix(out, "ID") || strings.Contains(out, "Paths") || strings.Contains(out, "/") {
		t.Errorf("snapshots --compact:\n%s", out)
	}
}

// stats --mode counts as restic does.
func TestStatsModes(t *testing.T) {
	env := repoEnv(t)
	src := t.TempDir()
	put(t, filepath.Join(src, "a"), strings.Repeat("same", 1000))
	put(t, filepath.Join(src, "b"), strings.Repeat("same", 1000))
	put(t, filepath.Join(src, "c"), "other")
	mustRun(t, env, "backup", src)
	get := func(mode string) map[string]any {
		return lastJSON(t, mustRun(t, env, "stats", "--json", "--mode", mode))
	}
	if m := get("restore-size"); m["total_file_count"] != 3.0 || m["total_size"] != 8005.0 {
		t.Errorf("restore-size: %v", m)
	}
	if m := get("files-by-contents"); m["total_file_count"] != 2.0 || m["total_size"] != 4005.0 {
		t.Errorf("files-by-contents: %v", m)
	}
	if m := get("raw-data"); m["total_size"].(float64) < 4005 || m["total_size"].(float64) > 8005 {
		t.Errorf("raw-data: %v", m)
	}
	if r := cairn(t, env, "stats", "--mode", "bogus"); r.code != 1 {
		t.Errorf("--mode bogus: exit %d", r.code)
	}
}

// --limit-upload and --limit-download apply to every backend and change
// nothing but the pace.
func TestLimitUploadDownload(t *testing.T) {
	env := repoEnv(t)
	src := t.TempDir()
	put(t, filepath.Join(src, "f"), strings.Repeat("data", 10000))
	mustRun(t, env, "--limit-upload", "100000", "backup", src)
	target := t.TempDir()
	mustRun(t, env, "--limit-download", "100000", "restore", "latest:"+src, "--target", target, "--verify")
	sameTrees(t, src, target)
}

func TestPruneRepackSmallFlag(t *testing.T) {
	env, _, src := smallPackRepo(t, 3)
	for i := range 3 {
		put(t, filepath.Join(src, fmt.Sprintf("more%d", i)), strings.Repeat(fmt.Sprint(i), 3000))
		mustRun(t, env, "backup", "--compression", "off", src)
	}
	out := lastJSON(t, mustRun(t, env, "prune", "--repack-small", "--max-unused", "unlimited", "--json"))
	if out["packs_repacked"].(float64) < 2 {
		t.Errorf("prune --repack-small: %v", out)
	}
	if r := cairn(t, env, "check", "--read-data"); r.code != 0 {
		t.Errorf("check after --repack-small: %s", r.stderr)
	}
}

// restore --delete makes the target equal the snapshot where the target
// holds entries of another type: a directory where the snapshot has a
// file or a symlink is removed with its content (never following a link
// out of the target), a file where it has a directory is replaced; a dry
// run names them and changes nothing. Without --delete a directory in the
// way is left alone and the restore exits 1, counting it as failed.
func TestRestoreDeleteReplacesWrongTypes(t *testing.T) {
	env := repoEnv(t)
	src := t.TempDir()
	put(t, filepath.Join(src, "sub", "file"), "F")
	put(t, filepath.Join(src, "sub", "dir", "inner"), "I")
	if err := os.Symlink("file", filepath.Join(src, "sub", "link")); err != nil {
		t.Fatal(err)
	}
	mustRun(t, env, "backup", src)
	outside := t.TempDir()
	put(t, filepath.Join(outside, "precious"), "keep me")
	clutter := func(target string) {
		t.Helper()
		put(t, filepath.Join(target, "file", "x"), "in the way")
		put(t, filepath.Join(target, "link", "y"), "in the way")
		if err := os.Symlink(outside, filepath.Join(target, "link", "out")); err != nil {
			t.Fatal(err)
		}
		put(t, filepath.Join(target, "dir"), "a file where a directory belongs")
	}

	plain := t.TempDir()
	clutter(plain)
	r := cairn(t, env, "restore", "latest:"+src+"/sub", "--target", plain, "--json")
	if r.code != 1 {
		t.Errorf("restore over a directory in the way: exit %d, want 1\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "a directory is in the way") {
		t.Errorf("stderr does not name the directory in the way:\n%s", r.stderr)
	}
	if sum := lastJSON(t, r.stdout); len(sum["failed"].([]any)) < 2 {
		t.Errorf("failed entries %v, want file and link", sum["failed"])
	}

	target := t.TempDir()
	clutter(target)
	dry := cairn(t, env, "restore", "latest:"+src+"/sub", "--target", target, "--delete", "--dry-run", "--json")
	if dry.code != 0 {
		t.Fatalf("dry run: exit %d\n%s", dry.code, dry.stderr)
	}
	if sum := lastJSON(t, dry.stdout); sum["files_replaced"] != 3.0 || sum["files_deleted"] != nil {
		t.Errorf("dry run would replace %v and delete %v, want 3 and none", sum["files_replaced"], sum["files_deleted"])
	}
	for _, name := range []string{"file", "link", "dir"} {
		if !strings.Contains(dry.stderr, "would replace "+name) {
			t.Errorf("dry run does not name %s:\n%s", name, dry.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(target, "file", "x")); err != nil {
		t.Errorf("a dry run replaced: %v", err)
	}

	res := cairn(t, env, "restore", "latest:"+src+"/sub", "--target", target, "--delete", "--verify")
	if res.code != 0 {
		t.Fatalf("restore --delete: exit %d\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stdout, "replaced 3 entries") {
		t.Errorf("summary does not count the replacements:\n%s", res.stdout)
	}
	if b, err := os.ReadFile(filepath.Join(target, "file")); err != nil || string(b) != "F" {
		t.Errorf("file: %q %v", b, err)
	}
	if l, err := os.Readlink(filepath.Join(target, "link")); err != nil || l != "file" {
		t.Errorf("link: %q %v", l, err)
	}
	if b, err := os.ReadFile(filepath.Join(target, "dir", "inner")); err != nil || string(b) != "I" {
		t.Errorf("dir/inner: %q %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(outside, "precious")); err != nil || string(b) != "keep me" {
		t.Errorf("--delete reached outside the target: %q %v", b, err)
	}
}
