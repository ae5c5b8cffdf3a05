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

func TestPackCache(t *testing.T) {
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
