package cache

import (
	"context"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/backendtest"
	"github.com/cairn-backup/cairn/backend/mem"
	"github.com/zeebo/blake3"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		be, err := New(mem.New(), filepath.Join(t.TempDir(), "repo"))
		if err != nil {
			t.Fatal(err)
		}
		return be
	})
}

// counting counts the loads and stats that reach the wrapped backend.
type counting struct {
	backend.Backend
	loads, stats atomic.Int64
}

func (c *counting) Load(ctx context.Context, h backend.Handle, off, n int64) (io.ReadCloser, error) {
	c.loads.Add(1)
	return c.Backend.Load(ctx, h, off, n)
}

func (c *counting) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	c.stats.Add(1)
	return c.Backend.Stat(ctx, h)
}

func named(t backend.FileType, data []byte) backend.Handle {
	sum := blake3.Sum256(data)
	return backend.Handle{Type: t, Name: hex.EncodeToString(sum[:])}
}

func TestCachedFilesAreServedLocallyAndChecked(t *testing.T) {
	ctx := context.Background()
	remote := mem.New()
	idx := []byte("an index file")
	pk := []byte("a pack file")
	hi, hp := named(backend.Index, idx), named(backend.Pack, pk)
	for h, d := range map[backend.Handle][]byte{hi: idx, hp: pk} {
		if err := remote.Save(ctx, h, d); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "cache", "repo1")
	inner := &counting{Backend: remote}
	c, err := New(inner, dir)
	if err != nil {
		t.Fatal(err)
	}
	read := func(h backend.Handle) string {
		t.Helper()
		b, err := backend.ReadAll(ctx, c, h, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if read(hi) != string(idx) || inner.loads.Load() != 1 {
		t.Fatalf("first read: %d loads", inner.loads.Load())
	}
	inner.loads.Store(0)
	inner.stats.Store(0)
	if read(hi) != string(idx) || inner.loads.Load() != 0 || inner.stats.Load() != 0 {
		t.Errorf("cached read went to the storage: %d loads, %d stats", inner.loads.Load(), inner.stats.Load())
	}
	if b, err := backend.ReadAll(ctx, c, hi, 3, 5); err != nil || string(b) != string(idx[3:8]) {
		t.Errorf("range of a cached file: %q %v", b, err)
	}
	// Packs are never cached.
	read(hp)
	read(hp)
	if inner.loads.Load() != 2 {
		t.Errorf("packs: %d loads, want 2", inner.loads.Load())
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "CACHEDIR.TAG")); err != nil {
		t.Errorf("no CACHEDIR.TAG: %v", err)
	}

	// A damaged copy is dropped and the file fetched again.
	if err := os.WriteFile(filepath.Join(dir, "index", hi.Name), []byte("bit rot"), 0o600); err != nil {
		t.Fatal(err)
	}
	inner.loads.Store(0)
	if read(hi) != string(idx) || inner.loads.Load() != 1 {
		t.Errorf("damaged copy: read with %d loads", inner.loads.Load())
	}
	if read(hi) != string(idx) || inner.loads.Load() != 1 {
		t.Errorf("the copy was not repaired: %d loads", inner.loads.Load())
	}
	// A file the storage holds under a wrong name is not cached.
	bad := backend.Handle{Type: backend.Snapshot, Name: hi.Name}
	if err := remote.Save(ctx, bad, []byte("not what the name says")); err != nil {
		t.Fatal(err)
	}
	read(bad)
	if _, err := os.Stat(filepath.Join(dir, "snapshots", bad.Name)); err == nil {
		t.Error("a file that does not match its name was cached")
	}

	// Saving keeps a copy; a listing drops copies of removed files.
	snap := []byte("a snapshot")
	hs := named(backend.Snapshot, snap)
	if err := c.Save(ctx, hs, snap); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshots", hs.Name)); err != nil {
		t.Errorf("saved snapshot not cached: %v", err)
	}
	if err := remote.Remove(ctx, hi); err != nil { // removed by another machine
		t.Fatal(err)
	}
	if _, err := backend.Names(ctx, c, backend.Index); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "index", hi.Name)); !os.IsNotExist(err) {
		t.Errorf("copy of a removed index file kept after a listing: %v", err)
	}
	if err := c.Remove(ctx, hs); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshots", hs.Name)); !os.IsNotExist(err) {
		t.Errorf("copy of a removed snapshot kept: %v", err)
	}
}

// Under backend.BypassCache, reads go to the storage even for cached
// files: check sees a damaged remote file that the cache holds intact.
func TestBypass(t *testing.T) {
	ctx := context.Background()
	remote := mem.New()
	idx := []byte("index")
	h := named(backend.Index, idx)
	if err := remote.Save(ctx, h, idx); err != nil {
		t.Fatal(err)
	}
	c, err := New(remote, filepath.Join(t.TempDir(), "c", "r"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backend.ReadAll(ctx, c, h, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := remote.Save(ctx, h, []byte("damaged")); err != nil {
		t.Fatal(err)
	}
	if b, _ := backend.ReadAll(ctx, c, h, 0, 0); string(b) != "index" {
		t.Errorf("cached read: %q", b)
	}
	if b, _ := backend.ReadAll(backend.BypassCache(ctx), c, h, 0, 0); string(b) != "damaged" {
		t.Errorf("bypassing read: %q, want what the storage holds", b)
	}
}

func TestListAndCleanup(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{"old", "new"} {
		c, err := New(mem.New(), filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		snap := []byte("snapshot of " + name)
		if err := c.Save(context.Background(), named(backend.Snapshot, snap), snap); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-60 * 24 * time.Hour)
	if err := os.Chtimes(filepath.Join(root, "old"), long, long); err != nil {
		t.Fatal(err)
	}
	list, err := List(root)
	if err != nil || len(list) != 2 || list[0].Name != "new" || list[0].Files != 1 || list[0].Size == 0 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	removed, err := Cleanup(root, time.Now().Add(-30*24*time.Hour))
	if err != nil || len(removed) != 1 || removed[0].Name != "old" {
		t.Fatalf("Cleanup = %+v, %v", removed, err)
	}
	if list, _ := List(root); len(list) != 1 || list[0].Name != "new" {
		t.Errorf("after cleanup: %+v", list)
	}
	if list, err := List(filepath.Join(root, "missing")); err != nil || len(list) != 0 {
		t.Errorf("List of a missing root: %v %v", list, err)
	}
}
