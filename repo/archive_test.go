package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/faulty"
	"github.com/cairn-backup/cairn/backend/local"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/snapshot"
)

func writeFile(t testing.TB, p string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// makeTree builds a source tree with every kind of entry a round trip must
// preserve.
func makeTree(t testing.TB, dir string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "small.txt"), []byte("hello\n"), 0o644)
	writeFile(t, filepath.Join(dir, "big.bin"), randBytes(3<<20, 1), 0o600)
	writeFile(t, filepath.Join(dir, "empty"), nil, 0o640)
	writeFile(t, filepath.Join(dir, "sub", "deeper", "f.go"), bytes.Repeat([]byte("package x\n"), 1000), 0o755)
	writeFile(t, filepath.Join(dir, "n\xff\xfe-latin1"), []byte("non-UTF-8 name"), 0o644)
	if err := os.MkdirAll(filepath.Join(dir, "emptydir"), 0o750); err != nil {
		t.Fatal(err)
	}
	must(t, os.Symlink("small.txt", filepath.Join(dir, "link")))
	must(t, os.Symlink("/nonexistent/target", filepath.Join(dir, "dangling")))
	must(t, os.Link(filepath.Join(dir, "small.txt"), filepath.Join(dir, "sub", "hardlink")))
	mkfifo(t, filepath.Join(dir, "fifo"))
	// A sparse file: 64 MiB with data only at both ends.
	f, err := os.Create(filepath.Join(dir, "sparse"))
	must(t, err)
	_, err = f.WriteAt([]byte("start"), 0)
	must(t, err)
	_, err = f.WriteAt([]byte("end"), 64<<20-3)
	must(t, err)
	must(t, f.Close())
	setXattr(filepath.Join(dir, "small.txt"), "user.cairn", []byte("xattr value"))
	old := time.Date(2001, 2, 3, 4, 5, 6, 789, time.UTC)
	must(t, filepath.Walk(dir, func(p string, fi fs.FileInfo, err error) error {
		if err != nil || fi.Mode()&fs.ModeSymlink != 0 {
			return err
		}
		return os.Chtimes(p, old, old)
	}))
	must(t, lutimes(filepath.Join(dir, "link"), time.Unix(1e9, 0)))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// describe lists every entry under dir with the metadata a restore must keep.
func describe(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	inodes := map[uint64]string{}
	must(t, filepath.Walk(dir, func(p string, fi fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		st := statIDs(fi)
		line := fmt.Sprintf("%q %v uid=%d gid=%d", rel, fi.Mode(), st.uid, st.gid)
		if rel != "." && fi.Mode()&fs.ModeSymlink == 0 || fi.Mode()&fs.ModeSymlink != 0 {
			if rel != "." {
				line += fmt.Sprintf(" mtime=%d", fi.ModTime().UnixNano())
			}
		}
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			must(t, err)
			line += fmt.Sprintf(" size=%d sum=%x", fi.Size(), blob.ID(hashOf(data)))
			if first, ok := inodes[st.ino]; ok {
				line += " hardlink-of=" + first
			} else if st.nlink > 1 {
				inodes[st.ino] = rel
			}
			if x, ok := getXattr(p, "user.cairn"); ok {
				line += " xattr=" + x
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		}
		lines = append(lines, line)
		return nil
	}))
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func hashOf(b []byte) [32]byte {
	var h [32]byte
	copy(h[:], fmt.Appendf(nil, "%d", len(b)))
	for i, c := range b {
		h[i%32] ^= c + byte(i)
	}
	return h
}

type backupEnv struct {
	t    *testing.T
	be   backend.Backend
	r    *Repository
	errs []string
}

func newBackupEnv(t *testing.T) *backupEnv {
	be, err := local.Open(t.TempDir())
	must(t, err)
	r := initRepo(t, be)
	return &backupEnv{t: t, be: be, r: r}
}

func (e *backupEnv) backup(src string, parent *snapshot.Snapshot) (*snapshot.Snapshot, *snapshot.Summary) {
	e.t.Helper()
	ctx := context.Background()
	paths, err := snapshot.CleanPaths([]string{src})
	must(e.t, err)
	a := snapshot.NewArchiver(e.r, snapshot.ArchiverOptions{Chunker: e.r.Config().Chunker,
		OnError: func(p string, err error) { e.errs = append(e.errs, p+": "+err.Error()) }})
	var parentTree blob.ID
	if parent != nil {
		parentTree = parent.Tree
	}
	tree, sum, err := a.Run(ctx, paths, parentTree)
	must(e.t, err)
	must(e.t, e.r.Flush(ctx))
	s := &snapshot.Snapshot{Time: time.Now(), Tree: tree, Paths: paths, Summary: sum}
	must(e.t, e.r.SaveSnapshot(ctx, s))
	return s, sum
}

// subtree finds the node at an absolute path in a snapshot.
func (e *backupEnv) node(s *snapshot.Snapshot, p string) *snapshot.Node {
	e.t.Helper()
	n := &snapshot.Node{Type: snapshot.TypeDir, Subtree: s.Tree}
	for _, c := range strings.Split(strings.Trim(p, "/"), "/") {
		if c == "" {
			continue
		}
		tr, err := e.r.LoadTree(context.Background(), n.Subtree)
		must(e.t, err)
		if n = tr.Find(c); n == nil {
			e.t.Fatalf("%s not in snapshot", p)
		}
	}
	return n
}

func (e *backupEnv) restore(s *snapshot.Snapshot, src, target string, opts snapshot.RestoreOptions) (*snapshot.RestoreSummary, []string) {
	e.t.Helper()
	var warnings []string
	opts.OnWarning = func(p string, err error) { warnings = append(warnings, p+": "+err.Error()) }
	opts.Owner = os.Getuid() == 0
	sum, err := snapshot.NewRestorer(e.r, opts).Restore(context.Background(), e.node(s, src), src, target)
	must(e.t, err)
	return sum, warnings
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	e := newBackupEnv(t)
	src := t.TempDir()
	makeTree(t, src)
	s, sum := e.backup(src, nil)
	if len(e.errs) > 0 {
		t.Fatalf("backup errors: %v", e.errs)
	}
	if sum.FilesNew != 7 || sum.FilesUnmodified != 0 || sum.BytesRead == 0 {
		t.Errorf("first backup summary: %+v", sum)
	}
	target := t.TempDir()
	rsum, warnings := e.restore(s, src, target, snapshot.RestoreOptions{Verify: true})
	if len(warnings) > 0 || len(rsum.Failed) > 0 {
		t.Fatalf("restore warnings %v, failed %v", warnings, rsum.Failed)
	}
	if rsum.Verified != 6 {
		t.Errorf("verified %d files, want 6 (plus one hard link)", rsum.Verified)
	}
	if got, want := describe(t, target), describe(t, src); got != want {
		t.Errorf("restored tree differs:\n--- got\n%s\n--- want\n%s", got, want)
	}
	if n := allocated(t, filepath.Join(target, "sparse")); n > 1<<20 {
		t.Errorf("sparse file restored with %d bytes allocated", n)
	}
	// A second backup of the unchanged tree reads nothing.
	_, sum2 := e.backup(src, s)
	if sum2.FilesNew != 0 || sum2.FilesChanged != 0 || sum2.FilesUnmodified != 7 || sum2.BytesRead != 0 || sum2.DataBlobs != 0 {
		t.Errorf("unchanged re-backup: %+v", sum2)
	}
	// src, sub, sub/deeper and emptydir are unchanged; the directories above
	// src (the temporary folder's parents) may have changed meanwhile.
	if sum2.DirsUnmodified < 4 || sum2.DirsChanged > 3 {
		t.Errorf("unchanged re-backup dirs: %+v", sum2)
	}
	// Changing one file re-reads only that file.
	writeFile(t, filepath.Join(src, "sub", "deeper", "f.go"), []byte("package y\n"), 0o755)
	_, sum3 := e.backup(src, s)
	if sum3.FilesChanged != 1 || sum3.FilesUnmodified != 6 || sum3.BytesRead != 10 {
		t.Errorf("after changing one file: %+v", sum3)
	}
}

// A tree crafted with unsafe names must not write outside the target.
func TestRestoreRefusesUnsafeNames(t *testing.T) {
	e := newBackupEnv(t)
	ctx := context.Background()
	content, _, err := e.r.SaveBlob(ctx, blob.Data, []byte("pwned"))
	must(t, err)
	file := func(name string) snapshot.Node {
		return snapshot.Node{Name: name, Type: snapshot.TypeFile, Mode: 0o644, Size: 5, Content: []blob.ID{content}}
	}
	// "evil" is a symlink to outside; a later tree routes a file through it.
	outside := t.TempDir()
	inner := &snapshot.Tree{Nodes: []snapshot.Node{file("x")}}
	innerID, _, err := e.r.SaveBlob(ctx, blob.Tree, inner.Encode())
	must(t, err)
	nodes := []snapshot.Node{
		file("../escape"), file("/abs"), file("a/b"), file(".."), file("ok"), file("nul\x00"),
		{Name: "evil", Type: snapshot.TypeSymlink, LinkTarget: outside},
	}
	rootTree := &snapshot.Tree{Nodes: nodes}
	rootTree.Sort()
	rootID, _, err := e.r.SaveBlob(ctx, blob.Tree, rootTree.Encode())
	must(t, err)
	must(t, e.r.Flush(ctx))
	s := &snapshot.Snapshot{Tree: rootID}
	target := filepath.Join(t.TempDir(), "target")
	sum, warnings := e.restore(s, "/", target, snapshot.RestoreOptions{})
	if sum.Refused != 5 {
		t.Errorf("refused %d entries, want 5; warnings %v", sum.Refused, warnings)
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 0 {
		t.Errorf("restore wrote outside the target: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(target), "escape")); err == nil {
		t.Error("../escape was written")
	}
	if data, err := os.ReadFile(filepath.Join(target, "ok")); err != nil || string(data) != "pwned" {
		t.Errorf("the safe file was not restored: %v", err)
	}
	// A pre-existing symlinked parent in the target is not followed either.
	must(t, os.Symlink(outside, filepath.Join(target, "through")))
	dirTree := &snapshot.Tree{Nodes: []snapshot.Node{{Name: "through", Type: snapshot.TypeDir, Mode: 0o755, Subtree: innerID}}}
	dirID, _, err := e.r.SaveBlob(ctx, blob.Tree, dirTree.Encode())
	must(t, err)
	must(t, e.r.Flush(ctx))
	e.restore(&snapshot.Snapshot{Tree: dirID}, "/", target, snapshot.RestoreOptions{Overwrite: snapshot.OverwriteNever})
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("restore followed a symlinked parent out of the target: %v", entries)
	}
}

// A backup killed at the Nth pack upload leaves checkpointed packs that the
// next run reuses.
func TestInterruptedBackupReused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	be, err := local.Open(dir)
	must(t, err)
	initRepo(t, be)
	src := t.TempDir()
	for i := 0; i < 12; i++ {
		writeFile(t, filepath.Join(src, fmt.Sprintf("f%02d", i)), randBytes(300<<10, uint64(i)), 0o644)
	}
	opts := testOpts
	opts.CheckpointPacks = 2
	r, err := Open(ctx, faulty.New(be, faulty.Config{FailSaveAfter: 5, FailSaveType: backend.Pack}), pw, opts)
	must(t, err)
	a := snapshot.NewArchiver(r, snapshot.ArchiverOptions{Chunker: r.Config().Chunker})
	paths, _ := snapshot.CleanPaths([]string{src})
	if _, _, err := a.Run(ctx, paths, blob.ID{}); !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("backup through failing backend: %v", err)
	}
	e := &backupEnv{t: t, be: be}
	e.r, err = Open(ctx, be, pw, testOpts)
	must(t, err)
	if e.r.Index().Len(blob.Data) == 0 {
		t.Fatal("no checkpoint index survived the failure")
	}
	_, sum := e.backup(src, nil)
	total := uint64(12 * 300 << 10)
	if sum.DataAdded >= total || sum.BytesRead != total {
		t.Errorf("second run added %d of %d bytes; want reuse of the first run's packs", sum.DataAdded, total)
	}
}

// After an upload fails, every pack that was stored is indexed, not only
// those of the last checkpoint (design §12.3); with a lost lock, only the
// packs that still exist are, under a fresh lock.
func TestSalvageIndexAfterUploadError(t *testing.T) {
	ctx := context.Background()
	for _, lostLock := range []bool{false, true} {
		t.Run(fmt.Sprintf("lost=%v", lostLock), func(t *testing.T) {
			dir := t.TempDir()
			be, err := local.Open(dir)
			must(t, err)
			initRepo(t, be)
			src := t.TempDir()
			for i := 0; i < 12; i++ {
				writeFile(t, filepath.Join(src, fmt.Sprintf("f%02d", i)), randBytes(300<<10, uint64(i)), 0o644)
			}
			opts := testOpts // checkpoints only every 64 packs: none here
			clock := &fakeClock{t: time.Now()}
			opts.Now = clock.now
			r, err := Open(ctx, faulty.New(be, faulty.Config{FailSaveAfter: 5, FailSaveType: backend.Pack}), pw, opts)
			must(t, err)
			l, err := r.Lock(ctx, LockOptions{NoRefresh: true})
			must(t, err)
			a := snapshot.NewArchiver(r, snapshot.ArchiverOptions{Chunker: r.Config().Chunker})
			paths, _ := snapshot.CleanPaths([]string{src})
			if _, _, err := a.Run(ctx, paths, blob.ID{}); !errors.Is(err, faulty.ErrInjected) {
				t.Fatalf("backup through failing backend: %v", err)
			}
			if lostLock {
				clock.advance(StaleAfter + time.Minute)
			}
			n, err := r.SalvageIndex(ctx)
			must(t, err)
			if n != 5 {
				t.Errorf("salvaged %d packs, want the 5 stored", n)
			}
			must(t, l.Unlock())
			fresh, err := Open(ctx, be, pw, testOpts)
			must(t, err)
			if got := fresh.Index().Packs(); got != 5 {
				t.Errorf("index names %d packs after the failure, want 5", got)
			}
		})
	}
}

// A backup path may pass through a symlinked directory; the snapshot
// stores the path as given, and restores it as a real directory.
func TestBackupThroughSymlinkedDir(t *testing.T) {
	e := newBackupEnv(t)
	base := t.TempDir()
	writeFile(t, filepath.Join(base, "real", "sub", "f.txt"), []byte("through a link"), 0o644)
	must(t, os.Symlink("real", filepath.Join(base, "link")))
	s, _ := e.backup(filepath.Join(base, "link", "sub"), nil)
	n := e.node(s, filepath.Join(base, "link", "sub", "f.txt"))
	if n == nil || n.Size != uint64(len("through a link")) {
		t.Fatalf("file below the symlinked path not stored: %+v", n)
	}
	if d := e.node(s, filepath.Join(base, "link")); d == nil || d.Type != snapshot.TypeDir {
		t.Errorf("the symlinked directory is stored as %+v, want a directory", d)
	}
}

// A backup killed at every step boundary (after each lock, pack, index
// and snapshot write) leaves a repository that checks clean, and the next
// backup adopts the packs it stored, uploads only the rest, and restores
// exactly.
func TestBackupKilledAtEveryStep(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	for i := 0; i < 8; i++ {
		writeFile(t, filepath.Join(src, fmt.Sprintf("f%02d", i)), randBytes(100<<10, uint64(i)), 0o644)
	}
	total := uint64(8 * 100 << 10)
	paths, _ := snapshot.CleanPaths([]string{src})
	for crashAfter := 1; ; crashAfter++ {
		dir := t.TempDir()
		be, err := local.Open(dir)
		must(t, err)
		initRepo(t, be)
		crashing := faulty.New(be, faulty.Config{CrashAfter: crashAfter})
		r, err := Open(ctx, crashing, pw, testOpts)
		must(t, err)
		finished := func() bool {
			l, err := r.Lock(ctx, LockOptions{NoRefresh: true})
			if err != nil {
				return false
			}
			_ = l // a killed process never removes its lock
			a := snapshot.NewArchiver(r, snapshot.ArchiverOptions{Chunker: r.Config().Chunker})
			tree, sum, err := a.Run(ctx, paths, blob.ID{})
			if err != nil {
				return false
			}
			if err := r.Flush(ctx); err != nil {
				return false
			}
			return r.SaveSnapshot(ctx, &snapshot.Snapshot{Time: time.Now(), Tree: tree, Paths: paths, Summary: sum}) == nil
		}()
		// A killed process's uploads end with it: let those the crashing
		// backend had accepted land before the next run lists the packs.
		r.uploads.Wait()
		stored := crashing.Mutations()
		if finished {
			if crashAfter < 5 {
				t.Fatalf("the backup finished after only %d writes", crashAfter)
			}
			return // every boundary before the last write was tried
		}
		// The next run, with the killed run's stale lock still there.
		e := &backupEnv{t: t, be: be}
		e.r, err = Open(ctx, be, pw, testOpts)
		must(t, err)
		l, err := e.r.Lock(ctx, LockOptions{NoRefresh: true})
		must(t, err)
		rec, err := e.r.ReconcilePacks(ctx)
		must(t, err)
		if len(rec.AdoptedErr) > 0 || len(rec.Missing) > 0 {
			t.Fatalf("crash after %d writes: reconcile %+v", crashAfter, rec)
		}
		s, sum := e.backup(src, nil)
		must(t, l.Unlock())
		if rec.Adopted > 0 && sum.DataAdded >= total {
			t.Errorf("crash after %d writes: %d packs adopted, yet %d of %d bytes uploaded again", crashAfter, rec.Adopted, sum.DataAdded, total)
		}
		rep, err := e.r.Check(ctx, CheckOptions{ReadData: true})
		must(t, err)
		if !rep.OK() || len(rep.UnindexedPacks) > 0 {
			t.Errorf("crash after %d writes (%d stored): check %+v", crashAfter, stored, rep)
		}
		target := t.TempDir()
		res := snapshot.NewRestorer(e.r, snapshot.RestoreOptions{Verify: true})
		rs, err := res.Restore(ctx, e.node(s, src), src, target)
		must(t, err)
		if len(rs.Failed) > 0 || rs.FilesRestored != 8 {
			t.Errorf("crash after %d writes: restore %+v", crashAfter, rs)
		}
	}
}
