package repo

import (
	"context"
	"crypto/cipher"
	"errors"
	"iter"
	"slices"
	"sync"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
)

// maxCachedPack is the largest pack the pack cache reads whole; blobs of
// larger packs are read with range requests.
const maxCachedPack = 64 << 20

// errPackTooLarge says a pack is too large to read whole into the cache.
var errPackTooLarge = errors.New("pack too large to cache")

// packCache keeps the last few whole packs read, so that a restore reads
// a pack with one request instead of one range request per blob: a file's
// chunks sit together in a few packs. Concurrent loads of one pack share
// one read.
type packCache struct {
	max int

	mu      sync.Mutex // guards entries, lru and left
	entries map[blob.ID]*packEntry
	lru     []blob.ID // oldest first
	// left counts, per pack, the blob reads still planned (PlanReads);
	// nil without a plan. A pack with one read left is read by range,
	// and a cached pack whose last planned read is done is dropped.
	left map[blob.ID]int32
}

type packEntry struct {
	done chan struct{} // closed when data, aead or err are set
	data []byte
	aead cipher.AEAD // the pack's cipher, derived once for all its blobs
	err  error
}

// SetPackCache makes LoadBlob read whole packs (up to 64 MiB) and keep
// the most recently used in memory, as many as fit in budget bytes at the
// repository's pack size (at least two); budget 0 turns it off. It is an
// optimisation only: anything the cache cannot serve is read as before.
func (r *Repository) SetPackCache(budget int64) {
	if budget <= 0 {
		r.packs = nil
		return
	}
	n := max(2, int(budget/int64(max(r.cfg.PackSize, MinPackSize))))
	r.packs = &packCache{max: n, entries: map[blob.ID]*packEntry{}}
}

// PlanReads tells the pack cache which blobs will be loaded, in order
// and with repeats (a restore's plan), so that it keeps only packs that
// will be read again and drops each after its last planned read: the
// memory follows what the plan still needs instead of the cache's size.
// Without a cache it does nothing. Blobs loaded outside the plan are read
// by range unless their pack is cached.
func (r *Repository) PlanReads(blobs iter.Seq[blob.Handle]) {
	c := r.packs
	if c == nil {
		return
	}
	left := map[blob.ID]int32{}
	for h := range blobs {
		if loc, ok := r.idx.Lookup(h); ok {
			left[loc.Pack]++
		}
	}
	c.mu.Lock()
	c.left = left
	c.mu.Unlock()
}

// errNotWorth says a pack is not worth reading whole: the plan reads at
// most one more blob of it.
var errNotWorth = errors.New("pack read once more at most")

// done counts a planned read of pack id as made, and drops the pack once
// none is left.
func (c *packCache) done(id blob.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left == nil {
		return
	}
	if n := c.left[id] - 1; n > 0 {
		c.left[id] = n
		return
	}
	delete(c.left, id)
	if _, ok := c.entries[id]; ok {
		delete(c.entries, id)
		c.lru = slices.DeleteFunc(c.lru, func(x blob.ID) bool { return x == id })
	}
}

// get returns the whole pack and its cipher (for salt), reading it once
// however many callers ask.
func (c *packCache) get(ctx context.Context, be backend.Backend, key *crypto.Key, id blob.ID, salt [crypto.PackSaltSize]byte) ([]byte, cipher.AEAD, error) {
	c.mu.Lock()
	e, ok := c.entries[id]
	if !ok && c.left != nil && c.left[id] <= 1 {
		c.mu.Unlock()
		return nil, nil, errNotWorth
	}
	if !ok {
		e = &packEntry{done: make(chan struct{})}
		c.entries[id] = e
	}
	c.touch(id)
	c.mu.Unlock()
	if !ok {
		e.data, e.err = readPack(ctx, be, id)
		if e.err == nil {
			e.aead = key.PackAEAD(salt)
		}
		close(e.done)
		// A failed read is tried again by the next caller; a pack too
		// large to cache stays known as such, so its blobs are not each
		// preceded by a Stat.
		if e.err != nil && !errors.Is(e.err, errPackTooLarge) {
			c.drop(id, e)
		}
	}
	select {
	case <-e.done:
		return e.data, e.aead, e.err
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

func readPack(ctx context.Context, be backend.Backend, id blob.ID) ([]byte, error) {
	h := backend.Handle{Type: backend.Pack, Name: id.String()}
	fi, err := be.Stat(ctx, h)
	if err != nil {
		return nil, err
	}
	if fi.Size > maxCachedPack {
		return nil, errPackTooLarge
	}
	return backend.ReadAll(ctx, be, h, 0, fi.Size)
}

// touch marks id as most recently used and evicts beyond max; c.mu is held.
func (c *packCache) touch(id blob.ID) {
	for i, x := range c.lru {
		if x == id {
			c.lru = append(c.lru[:i], c.lru[i+1:]...)
			break
		}
	}
	c.lru = append(c.lru, id)
	for len(c.lru) > c.max {
		delete(c.entries, c.lru[0])
		c.lru = c.lru[1:]
	}
}

func (c *packCache) drop(id blob.ID, e *packEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[id] == e {
		delete(c.entries, id)
	}
}
