package repo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/mem"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/pack"
)

// countingBackend counts pack loads.
type countingBackend struct {
	backend.Backend
	loads atomic.Int64
}

func (c *countingBackend) Load(ctx context.Context, h backend.Handle, offset, length int64) (io.ReadCloser, error) {
	if h.Type == backend.Pack {
		c.loads.Add(1)
	}
	return c.Backend.Load(ctx, h, offset, length)
}

// sixtyBlobs stores testBlob(0..59) in a new repository in memory, in
// several packs, and returns the storage and the blobs' IDs.
func sixtyBlobs(t *testing.T) (*mem.Backend, []blob.ID) {
	t.Helper()
	ctx := context.Background()
	m := mem.New()
	r := initRepo(t, m)
	var ids []blob.ID
	for i := 0; i < 60; i++ {
		id, _, err := r.SaveBlob(ctx, blob.Data, testBlob(i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return m, ids
}

func TestPackCache(t *testing.T) {
	ctx := context.Background()
	m, ids := sixtyBlobs(t)
	cb := &countingBackend{Backend: m}
	r2, err := Open(ctx, cb, pw, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	packs := r2.idx.Packs()
	r2.SetPackCache(int64(packs) * MinPackSize)
	before := cb.loads.Load()
	var wg sync.WaitGroup
	for round := 0; round < 3; round++ {
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := r2.LoadBlob(ctx, blob.Handle{Type: blob.Data, ID: id})
				if err != nil || !bytes.Equal(got, testBlob(i)) {
					t.Errorf("blob %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
	}
	if got := cb.loads.Load() - before; got != int64(packs) {
		t.Errorf("%d pack loads for %d packs read three times over; want each read once", got, packs)
	}

	// A damaged pack: its damaged blob fails as before, with the blob's
	// ID; the others still load.
	var victim string
	m.List(ctx, backend.Pack, func(fi backend.FileInfo) error { victim = fi.Name; return nil })
	data, _ := backend.ReadAll(ctx, m, backend.Handle{Type: backend.Pack, Name: victim}, 0, 0)
	r3, _ := Open(ctx, m, pw, testOpts)
	r3.SetPackCache(1)
	var entries []pack.Entry
	for _, id := range ids {
		if loc, ok := r3.idx.Lookup(blob.Handle{Type: blob.Data, ID: id}); ok && loc.Pack.String() == victim {
			entries = append(entries, loc.Entry)
		}
	}
	if len(entries) < 2 {
		t.Fatalf("the pack holds %d blobs", len(entries))
	}
	data[entries[0].Offset+5] ^= 1
	m.Remove(ctx, backend.Handle{Type: backend.Pack, Name: victim})
	m.Save(ctx, backend.Handle{Type: backend.Pack, Name: victim}, data)
	if _, err := r3.LoadBlob(ctx, entries[0].Handle()); !errors.Is(err, crypto.ErrCorrupt) {
		t.Errorf("damaged blob: %v, want ErrCorrupt", err)
	}
	if _, err := r3.LoadBlob(ctx, entries[1].Handle()); err != nil {
		t.Errorf("intact blob of a damaged pack: %v", err)
	}
}

// TestPlanReads checks the pack cache under a restore's plan: a pack the
// plan reads many blobs of is read whole once and dropped after its last
// planned read; a blob whose pack the plan reads once more is read by
// range, leaving nothing cached; and LoadBlobInto fills the buffer given.
func TestPlanReads(t *testing.T) {
	ctx := context.Background()
	m, ids := sixtyBlobs(t)
	cb := &countingBackend{Backend: m}
	r2, err := Open(ctx, cb, pw, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	r2.SetPackCache(int64(r2.idx.Packs()) * MinPackSize)
	loc0, _ := r2.idx.Lookup(blob.Handle{Type: blob.Data, ID: ids[0]})
	var same, other []int // blobs in blob 0's pack, and one blob of another pack
	for i, id := range ids {
		loc, _ := r2.idx.Lookup(blob.Handle{Type: blob.Data, ID: id})
		if loc.Pack == loc0.Pack {
			same = append(same, i)
		} else if len(other) == 0 {
			other = append(other, i)
		}
	}
	if len(same) < 3 || len(other) != 1 {
		t.Fatalf("%d blobs share a pack, %d in others", len(same), len(other))
	}
	plan := append(append([]int{}, same...), other...)
	r2.PlanReads(func(yield func(blob.Handle) bool) {
		for _, i := range plan {
			if !yield(blob.Handle{Type: blob.Data, ID: ids[i]}) {
				return
			}
		}
	})
	before := cb.loads.Load()
	buf := make([]byte, 0, 64<<10)
	for n, i := range plan {
		got, err := r2.LoadBlobInto(ctx, blob.Handle{Type: blob.Data, ID: ids[i]}, buf)
		if err != nil || !bytes.Equal(got, testBlob(i)) {
			t.Fatalf("blob %d: %v", i, err)
		}
		if len(got) > 0 && &got[0] != &buf[:1][0] {
			t.Errorf("blob %d was not loaded into the buffer given", i)
		}
		r2.packs.mu.Lock()
		cached := len(r2.packs.entries)
		r2.packs.mu.Unlock()
		switch {
		case n < len(same)-1 && cached != 1:
			t.Errorf("after read %d of %d from one pack: %d packs cached, want it", n+1, len(same), cached)
		case n >= len(same)-1 && cached != 0:
			t.Errorf("after the pack's last planned read: %d packs cached, want none", cached)
		}
	}
	if got := cb.loads.Load() - before; got != 2 {
		t.Errorf("%d loads: want the shared pack read whole once and the lone blob by range", got)
	}
}

// TestPackAEADCache checks that a pack's cipher is derived once and that
// the cache of them stays bounded.
func TestPackAEADCache(t *testing.T) {
	r := initRepo(t, mem.New())
	var salt [crypto.PackSaltSize]byte
	id := blob.ID{1}
	if a, b := r.packAEAD(id, salt), r.packAEAD(id, salt); a != b {
		t.Error("the cipher of one pack was derived twice")
	}
	for i := range 200 {
		r.packAEAD(blob.ID{2, byte(i)}, salt)
	}
	if n := len(r.aeads); n > 64 {
		t.Errorf("%d ciphers cached, want at most 64", n)
	}
}
