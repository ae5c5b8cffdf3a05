package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/mem"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
)

func newRepo(t *testing.T) (*repo.Repository, backend.Backend) {
	t.Helper()
	be := mem.New()
	r, err := repo.Init(context.Background(), be, []byte("pw"), repo.Options{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lock(context.Background(), repo.LockOptions{NoRefresh: true}); err != nil {
		t.Fatal(err)
	}
	return r, be
}

func TestChooseParent(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 1, 1, h, 0, 0, 0, time.UTC) }
	a := &snapshot.Snapshot{Time: at(1), Host: "h", Paths: []string{"/a"}}
	b := &snapshot.Snapshot{Time: at(2), Host: "h", Paths: []string{"/a"}}
	c := &snapshot.Snapshot{Time: at(3), Host: "other", Paths: []string{"/a"}}
	d := &snapshot.Snapshot{Time: at(4), Host: "h", Paths: []string{"/a", "/b"}}
	a.ID[0], b.ID[0], c.ID[0], d.ID[0] = 0xa1, 0xb2, 0xc3, 0xd4
	snaps := []*snapshot.Snapshot{a, b, c, d}
	for _, tc := range []struct {
		ref, host string
		paths     []string
		want      *snapshot.Snapshot
	}{
		{"", "h", []string{"/a"}, b},       // the newest of the same host and paths
		{"", "other", []string{"/a"}, c},   // host matters
		{"", "h", []string{"/a", "/b"}, d}, // paths must match exactly
		{"", "h", []string{"/z"}, nil},     // none
		{"a1", "other", []string{"/z"}, a}, // named
	} {
		got, err := ChooseParent(snaps, tc.ref, tc.host, tc.paths)
		if err != nil || got != tc.want {
			t.Errorf("ChooseParent(%q, %q, %v) = %v, %v; want %v", tc.ref, tc.host, tc.paths, got, err, tc.want)
		}
	}
}

func countFiles(t *testing.T, be backend.Backend, ft backend.FileType) int {
	t.Helper()
	names, err := backend.Names(context.Background(), be, ft)
	if err != nil {
		t.Fatal(err)
	}
	return len(names)
}

func TestBackupDryRunParentAndEvents(t *testing.T) {
	ctx := context.Background()
	r, be := newRepo(t)
	src := t.TempDir()
	for _, n := range []string{"a", "b", "c"} {
		if err := os.WriteFile(filepath.Join(src, n), []byte(strings.Repeat(n, 10000)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	paths, _ := snapshot.CleanPaths([]string{src})
	res, err := NewBackup(r, BackupOptions{Paths: paths, DryRun: true, Host: "h"}).Run(ctx)
	if err != nil || res.Snapshot.Summary.FilesNew != 3 {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if n := countFiles(t, be, backend.Pack) + countFiles(t, be, backend.Snapshot) + countFiles(t, be, backend.Index); n != 0 {
		t.Errorf("a dry run stored %d files", n)
	}
	first, err := NewBackup(r, BackupOptions{Paths: paths, Host: "h"}).Run(ctx)
	if err != nil || first.Snapshot.ID.IsZero() || first.Parent != nil {
		t.Fatalf("first backup: %+v, %v", first, err)
	}
	var events []Event
	second, err := NewBackup(r, BackupOptions{Paths: paths, Host: "h", OnEvent: func(e Event) { events = append(events, e) }}).Run(ctx)
	if err != nil || second.Parent == nil || second.Parent.ID != first.Snapshot.ID || second.Snapshot.Summary.FilesUnmodified != 3 {
		t.Fatalf("second backup: parent %v, %+v, %v", second.Parent, second.Snapshot.Summary, err)
	}
	if len(events) != 1 || events[0].Kind != EventParent {
		t.Errorf("events %+v, want the parent", events)
	}
}

func TestBackupCommandThatFailsMakesNoSnapshot(t *testing.T) {
	r, be := newRepo(t)
	_, err := NewBackup(r, BackupOptions{Command: []string{"sh", "-c", "echo partial; exit 3"}, StreamName: "db.sql"}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no snapshot was made") {
		t.Errorf("failing command: %v", err)
	}
	if n := countFiles(t, be, backend.Snapshot); n != 0 {
		t.Errorf("%d snapshots after a failing command", n)
	}
	res, err := NewBackup(r, BackupOptions{Stdin: strings.NewReader("dump"), StreamName: "db.sql"}).Run(context.Background())
	if err != nil || res.Snapshot.Paths[0] != "/db.sql" {
		t.Errorf("stdin: %+v, %v", res, err)
	}
}

func TestRestoreFindsSubpathAndCounts(t *testing.T) {
	ctx := context.Background()
	r, _ := newRepo(t)
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "sub/b"} {
		if err := os.WriteFile(filepath.Join(src, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	paths, _ := snapshot.CleanPaths([]string{src})
	res, err := NewBackup(r, BackupOptions{Paths: paths}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	sum, err := NewRestore(r, res.Snapshot, RestoreOptions{SubPath: src + "/sub", Target: target}).Run(ctx)
	if err != nil || sum.FilesRestored != 1 {
		t.Fatalf("restore of the subpath: %+v, %v", sum, err)
	}
	if b, err := os.ReadFile(filepath.Join(target, "b")); err != nil || string(b) != "sub/b" {
		t.Errorf("restored b = %q, %v", b, err)
	}
	if _, err := NewRestore(r, res.Snapshot, RestoreOptions{SubPath: src + "/nope", Target: target}).Run(ctx); err == nil ||
		!strings.Contains(err.Error(), "no such path") {
		t.Errorf("missing subpath: %v", err)
	}
}

func TestComputeStats(t *testing.T) {
	ctx := context.Background()
	r, _ := newRepo(t)
	src := t.TempDir()
	for _, n := range []string{"a", "b"} { // the same content twice: one blob
		if err := os.WriteFile(filepath.Join(src, n), []byte(strings.Repeat("x", 5000)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	paths, _ := snapshot.CleanPaths([]string{src})
	res, err := NewBackup(r, BackupOptions{Paths: paths}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ComputeStats(ctx, r, []*snapshot.Snapshot{res.Snapshot, res.Snapshot})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 4 || st.Logical != 20000 || st.Raw == 0 || st.Stored == 0 || st.Packs == 0 || st.RepoSize == 0 {
		t.Errorf("stats %+v", st)
	}
	if st.DeduplicationRatio() < 3.5 || st.CompressionRatio() <= 1 {
		t.Errorf("dedup %.2f, compression %.2f", st.DeduplicationRatio(), st.CompressionRatio())
	}
}

func TestWriteTar(t *testing.T) {
	ctx := context.Background()
	r, _ := newRepo(t)
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "d", "f"), []byte("content"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("d/f", filepath.Join(src, "l")); err != nil {
		t.Fatal(err)
	}
	paths, _ := snapshot.CleanPaths([]string{src})
	res, err := NewBackup(r, BackupOptions{Paths: paths}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node, err := FindNode(ctx, r, res.Snapshot, src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteTar(ctx, r, &buf, node, src, func(p string, err error) { t.Errorf("%s: %v", p, err) }); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		got = append(got, fmt.Sprintf("%s %o %q %q", h.Name, h.Mode, h.Linkname, data))
	}
	base := filepath.Base(src)
	fi, _ := os.Stat(src)
	want := []string{fmt.Sprintf(`%s/ %o "" ""`, base, fi.Mode().Perm()), base + `/d/ 755 "" ""`, base + `/d/f 640 "" "content"`, base + `/l 777 "d/f" ""`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tar:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The summary counts the stored (compressed, sealed) bytes of new data;
// a dry run stores nothing even though the repository could report it.
func TestDataAddedPacked(t *testing.T) {
	ctx := context.Background()
	r, be := newRepo(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "text"), []byte(strings.Repeat("compressible ", 20000)), 0o644); err != nil {
		t.Fatal(err)
	}
	paths, _ := snapshot.CleanPaths([]string{src})
	dry, err := NewBackup(r, BackupOptions{Paths: paths, DryRun: true}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := countFiles(t, be, backend.Pack); n != 0 || dry.Snapshot.Summary.DataAddedPacked == 0 {
		t.Errorf("dry run: %d packs stored, %d packed bytes counted", n, dry.Snapshot.Summary.DataAddedPacked)
	}
	res, err := NewBackup(r, BackupOptions{Paths: paths}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Snapshot.Summary
	if sum.DataAddedPacked == 0 || sum.DataAddedPacked >= sum.DataAdded/4 {
		t.Errorf("%d stored bytes for %d added: compression not counted", sum.DataAddedPacked, sum.DataAdded)
	}
}
