//go:build linux

package mount

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"
	"testing"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/mem"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
)

// countingLoads counts the pack reads that reach the storage.
type countingLoads struct {
	backend.Backend
	packLoads atomic.Int64
}

func (c *countingLoads) Load(ctx context.Context, h backend.Handle, off, n int64) (io.ReadCloser, error) {
	if h.Type == backend.Pack {
		c.packLoads.Add(1)
	}
	return c.Backend.Load(ctx, h, off, n)
}

// A read at the end of a large file loads only the blob that holds it,
// and a read spanning blobs returns the right bytes.
func TestReadLoadsOnlyTheBlobsAsked(t *testing.T) {
	ctx := context.Background()
	be := &countingLoads{Backend: mem.New()}
	r, err := repo.Init(ctx, be, []byte("pw"), repo.Options{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, PackSize: repo.MinPackSize})
	if err != nil {
		t.Fatal(err)
	}
	var whole []byte
	n := &snapshot.Node{Name: "big", Type: snapshot.TypeFile}
	for i := 0; i < 40; i++ {
		chunk := bytes.Repeat([]byte{byte(i), byte(i * 7), 3}, 50_000+i) // 150 KB, one pack each at this pack size
		id, _, err := r.SaveBlob(ctx, blob.Data, chunk)
		if err != nil {
			t.Fatal(err)
		}
		n.Content = append(n.Content, id)
		whole = append(whole, chunk...)
	}
	n.Size = uint64(len(whole))
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	m := &mounter{r: r, opts: Options{Log: func(string, ...any) {}}, cache: newLRU(1 << 20), bg: ctx}
	f := &fileNode{m: m, node: n, where: "test:/big"}
	be.packLoads.Store(0)
	dest := make([]byte, 4096)
	res, errno := f.Read(ctx, nil, dest, int64(len(whole)-4096))
	if errno != 0 {
		t.Fatal(errno)
	}
	got, _ := res.Bytes(nil)
	if !bytes.Equal(got, whole[len(whole)-4096:]) {
		t.Fatal("wrong bytes at the end of the file")
	}
	if loads := be.packLoads.Load(); loads != 1 {
		t.Errorf("reading the last 4 KiB loaded %d blobs, want 1", loads)
	}
	// Across three blobs, from the start of the 10th.
	off := int64(0)
	for i := 0; i < 10; i++ {
		off += int64(3 * (50_000 + i))
	}
	dest = make([]byte, 400_000)
	res, errno = f.Read(ctx, nil, dest, off+5)
	if errno != 0 {
		t.Fatal(errno)
	}
	got, _ = res.Bytes(nil)
	if !bytes.Equal(got, whole[off+5:off+5+400_000]) {
		t.Error("wrong bytes across blobs")
	}
	// Past the end: nothing.
	if res, errno = f.Read(ctx, nil, dest, int64(len(whole))); errno != 0 {
		t.Fatal(errno)
	} else if b, _ := res.Bytes(nil); len(b) != 0 {
		t.Errorf("read past the end gave %d bytes", len(b))
	}
}

// The cache stays within its bound and keeps the most recently used.
func TestLRUBound(t *testing.T) {
	c := newLRU(1000)
	h := func(i byte) blob.Handle { return blob.Handle{Type: blob.Data, ID: blob.ID{i}} }
	for i := byte(0); i < 10; i++ {
		c.add(h(i), i, 300)
		if c.size > 1000 {
			t.Fatalf("cache holds %d bytes, bound 1000", c.size)
		}
	}
	if _, ok := c.get(h(0)); ok {
		t.Error("the oldest entry was kept")
	}
	if v, ok := c.get(h(9)); !ok || v.(byte) != 9 {
		t.Error("the newest entry was dropped")
	}
	c.add(h(100), byte(100), 5000) // larger than the bound: not kept
	if _, ok := c.get(h(100)); ok || c.size > 1000 {
		t.Errorf("an entry larger than the bound was kept (size %d)", c.size)
	}
}

// TestMemory checks that a mount's memory limit leaves room beyond its
// cache, and follows the cache size asked for.
func TestMemory(t *testing.T) {
	if got := Memory(0); got != Memory(DefaultCacheBytes) || got < DefaultCacheBytes*3/2 {
		t.Errorf("Memory(0) = %d, want the default cache's and at least %d", got, DefaultCacheBytes*3/2)
	}
	if small, big := Memory(64<<20), Memory(1<<30); small <= 64<<20 || big <= small || big < 3<<29 {
		t.Errorf("Memory(64 MiB) = %d, Memory(1 GiB) = %d", small, big)
	}
}
