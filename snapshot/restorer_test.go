package snapshot

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairn-backup/cairn/blob"
)

// memRepo is an in-memory RestoreRepo: blobs by handle, IDs by SHA-256.
type memRepo struct {
	mu    sync.Mutex
	blobs map[blob.Handle][]byte
	loads atomic.Int64
	// onLoad, if set, runs before every load (to cancel mid-way).
	onLoad func(n int64)
}

func newMemRepo() *memRepo { return &memRepo{blobs: map[blob.Handle][]byte{}} }

func (m *memRepo) BlobID(data []byte) blob.ID { return blob.ID(sha256.Sum256(data)) }

func (m *memRepo) put(t blob.Type, data []byte) blob.ID {
	id := m.BlobID(data)
	m.mu.Lock()
	m.blobs[blob.Handle{Type: t, ID: id}] = data
	m.mu.Unlock()
	return id
}

func (m *memRepo) LoadBlob(ctx context.Context, h blob.Handle) ([]byte, error) {
	n := m.loads.Add(1)
	if m.onLoad != nil {
		m.onLoad(n)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[h]
	if !ok {
		return nil, fmt.Errorf("blob %v: damaged", h)
	}
	return append([]byte(nil), b...), nil
}

func (m *memRepo) BlobSize(h blob.Handle) (uint32, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[h]
	return uint32(len(b)), ok
}

func (m *memRepo) file(name, content string) Node {
	return Node{Name: name, Type: TypeFile, Mode: 0o644, Size: uint64(len(content)),
		Content: []blob.ID{m.put(blob.Data, []byte(content))}}
}

func (m *memRepo) dir(name string, nodes ...Node) Node {
	t := &Tree{Nodes: nodes}
	t.Sort()
	return Node{Name: name, Type: TypeDir, Mode: 0o755, Subtree: m.put(blob.Tree, t.Encode())}
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			out = append(out, strings.TrimPrefix(p, dir)+"="+string(data))
		}
		return nil
	})
	return out
}

func TestRestoreContainsDamagedTree(t *testing.T) {
	m := newMemRepo()
	lost := m.dir("lost", m.file("x", "never seen"))
	delete(m.blobs, blob.Handle{Type: blob.Tree, ID: lost.Subtree})
	root := m.dir("", lost, m.dir("ok", m.file("a", "A"), m.file("b", "B")), m.file("top", "T"),
		Node{Name: "../escape", Type: TypeFile}, m.file("bad\x00name", "N"))
	var warnings []string
	r := NewRestorer(m, RestoreOptions{OnWarning: func(p string, err error) { warnings = append(warnings, p+": "+err.Error()) }})
	target := t.TempDir()
	sum, err := r.Restore(context.Background(), &root, "/", target)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(files(t, target), " ")
	if want := "/ok/a=A /ok/b=B /top=T"; got != want {
		t.Errorf("restored %q, want %q", got, want)
	}
	if len(sum.Failed) != 1 || sum.Failed[0] != "/lost" || sum.Refused != 2 || sum.FilesRestored != 3 {
		t.Errorf("summary: failed %v, refused %d, restored %d", sum.Failed, sum.Refused, sum.FilesRestored)
	}
	all := strings.Join(warnings, "\n")
	for _, want := range []string{`/lost: could not read directory`, `/"../escape"`, `/"bad\x00name"`} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
}

// dag returns a tree of depth levels where every directory holds two
// entries naming the same subtree: 2^levels paths from levels+1 trees.
func dag(m *memRepo, levels int) Node {
	n := m.dir("d", m.file("f", "x"))
	for range levels {
		a, b := n, n
		a.Name, b.Name = "a", "b"
		n = m.dir("d", a, b)
	}
	return n
}

func TestRestoreRefusesExplodingDAG(t *testing.T) {
	m := newMemRepo()
	root := dag(m, 60) // 2^60 paths
	target := t.TempDir()
	r := NewRestorer(m, RestoreOptions{})
	_, err := r.Restore(context.Background(), &root, "/", target)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
	if n := m.loads.Load(); n > 100 {
		t.Errorf("%d blob loads to refuse 61 distinct trees", n)
	}
	if got := files(t, target); len(got) != 0 {
		t.Errorf("wrote %d files before refusing", len(got))
	}
	// A small DAG within the limit is restored in full.
	small := dag(m, 4)
	r = NewRestorer(m, RestoreOptions{MaxEntries: 100})
	sum, err := r.Restore(context.Background(), &small, "/", t.TempDir())
	if err != nil || sum.FilesRestored != 16 {
		t.Errorf("small DAG: %v, %d files restored, want 16", err, sum.FilesRestored)
	}
	// Too deep is malformed too.
	deep := m.file("f", "x")
	for range MaxTreeDepth + 2 {
		deep = m.dir("d", deep)
	}
	r = NewRestorer(m, RestoreOptions{})
	if _, err := r.Restore(context.Background(), &deep, "/", t.TempDir()); !errors.Is(err, ErrMalformed) {
		t.Errorf("deep tree: err = %v, want ErrMalformed", err)
	}
	var walkErr error
	err = Walk(context.Background(), m, deep.Subtree, "/", nil, func(string, *Node) error { return nil })
	walkErr = err
	if !errors.Is(walkErr, ErrMalformed) {
		t.Errorf("Walk of a deep tree: %v, want ErrMalformed", walkErr)
	}
}

func TestRestoreCancelledCountsWhatWasDone(t *testing.T) {
	m := newMemRepo()
	var nodes []Node
	for i := range 200 {
		nodes = append(nodes, m.file(fmt.Sprintf("f%03d", i), strings.Repeat("z", i+1)))
	}
	root := m.dir("", nodes...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.onLoad = func(n int64) {
		if n == 60 {
			cancel()
		}
	}
	target := t.TempDir()
	sum, err := NewRestorer(m, RestoreOptions{Workers: 3}).Restore(ctx, &root, "/", target)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	onDisk := len(files(t, target))
	if sum == nil || int(sum.FilesRestored) != onDisk || onDisk >= 200 || sum.TotalFiles != 200 {
		t.Errorf("summary %+v; %d files on disk", sum, onDisk)
	}
}

func TestWalkReportsAndContinues(t *testing.T) {
	m := newMemRepo()
	lost := m.dir("lost", m.file("x", "x"))
	delete(m.blobs, blob.Handle{Type: blob.Tree, ID: lost.Subtree})
	root := m.dir("", lost, m.dir("ok", m.file("a", "A")), Node{Name: "a/b", Type: TypeFile})
	var seen, errs []string
	err := Walk(context.Background(), m, root.Subtree, "/", func(p string, err error) { errs = append(errs, p) },
		func(p string, n *Node) error { seen = append(seen, p); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(seen, " "), "/lost /ok /ok/a"; got != want {
		t.Errorf("visited %q, want %q", got, want)
	}
	if got, want := strings.Join(errs, " "), `/"a/b" /lost`; got != want {
		t.Errorf("reported %q, want %q", got, want)
	}
	// Without onErr the first problem ends the walk.
	if err := Walk(context.Background(), m, root.Subtree, "/", nil, func(string, *Node) error { return nil }); err == nil {
		t.Error("strict walk ignored an unsafe name")
	}
}
