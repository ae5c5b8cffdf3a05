package index

import (
	"bytes"
	"encoding/binary"
	"slices"
	"sync"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/pack"
)

// Location is where a blob is stored.
type Location struct {
	Pack  blob.ID
	Salt  [crypto.PackSaltSize]byte
	Entry pack.Entry
}

const (
	suffixSize   = blob.IDSize - 2
	recSize      = suffixSize + 16
	numBuckets   = 1 << 16
	compactLimit = 1 << 17
)

// rec is one blob in a table: ID bytes 2..31, then pack number, offset,
// sealed length and plaintext length, little-endian. Byte arrays have
// alignment 1, so a slice of recs costs exactly 46 bytes per blob.
type rec [recSize]byte

type loc struct {
	pack, offset, length, raw uint32
}

func (r *rec) loc() loc {
	return loc{
		pack:   binary.LittleEndian.Uint32(r[suffixSize:]),
		offset: binary.LittleEndian.Uint32(r[suffixSize+4:]),
		length: binary.LittleEndian.Uint32(r[suffixSize+8:]),
		raw:    binary.LittleEndian.Uint32(r[suffixSize+12:]),
	}
}

func makeRec(id blob.ID, l loc) rec {
	var r rec
	copy(r[:], id[2:])
	binary.LittleEndian.PutUint32(r[suffixSize:], l.pack)
	binary.LittleEndian.PutUint32(r[suffixSize+4:], l.offset)
	binary.LittleEndian.PutUint32(r[suffixSize+8:], l.length)
	binary.LittleEndian.PutUint32(r[suffixSize+12:], l.raw)
	return r
}

func bucketOf(id blob.ID) int { return int(id[0])<<8 | int(id[1]) }

// table holds the blobs of one type.
type table struct {
	recs    []rec    // sorted by ID within each bucket
	starts  []uint32 // bucket b is recs[starts[b]:starts[b+1]]; nil when empty
	recent  map[blob.ID]loc
	pending []pendingRec // bulk additions, merged by compact
}

type pendingRec struct {
	id blob.ID
	l  loc
}

type packInfo struct {
	id   blob.ID
	salt [crypto.PackSaltSize]byte
}

// Index is the in-memory index of a repository. It is safe for concurrent
// use.
type Index struct {
	mu     sync.RWMutex // guards all fields
	packs  []packInfo
	dead   map[uint32]bool // pack numbers removed by RemovePacks
	tables [blob.NumTypes]table
}

// New returns an empty index.
func New() *Index { return &Index{} }

func (x *Index) addPackLocked(id blob.ID, salt [crypto.PackSaltSize]byte) uint32 {
	x.packs = append(x.packs, packInfo{id: id, salt: salt})
	return uint32(len(x.packs) - 1)
}

func entryLoc(p uint32, e pack.Entry) loc {
	return loc{pack: p, offset: e.Offset, length: e.Length, raw: e.RawLength}
}

// Add records the blobs of a newly written pack. They are visible to Lookup
// at once.
func (x *Index) Add(p Pack) {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := x.addPackLocked(p.ID, p.Salt)
	for _, e := range p.Blobs {
		t := &x.tables[e.Type]
		if t.recent == nil {
			t.recent = make(map[blob.ID]loc)
		}
		if _, ok := t.recent[e.ID]; !ok {
			t.recent[e.ID] = entryLoc(n, e)
		} else {
			// Keep every copy: one may later be removed.
			t.pending = append(t.pending, pendingRec{e.ID, entryLoc(n, e)})
		}
	}
	for i := range x.tables {
		if len(x.tables[i].recent) >= compactLimit {
			x.tables[i].compact()
		}
	}
}

// AddFile records every pack of a decoded index file. Use it to load many
// files, then call Compact; it does not deduplicate packs listed twice
// beyond keeping every location valid.
func (x *Index) AddFile(f *File) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, p := range f.Packs {
		n := x.addPackLocked(p.ID, p.Salt)
		for _, e := range p.Blobs {
			t := &x.tables[e.Type]
			t.pending = append(t.pending, pendingRec{e.ID, entryLoc(n, e)})
		}
	}
}

// Compact merges every addition into the sorted tables.
func (x *Index) Compact() {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := range x.tables {
		x.tables[i].compact()
	}
}

func (t *table) compact() {
	add := t.pending
	for id, l := range t.recent {
		add = append(add, pendingRec{id, l})
	}
	t.pending, t.recent = nil, nil
	if len(add) == 0 {
		return
	}
	counts := make([]uint32, numBuckets+1)
	for _, p := range add {
		counts[bucketOf(p.id)+1]++
	}
	starts := make([]uint32, numBuckets+1)
	for b := 0; b < numBuckets; b++ {
		old := uint32(0)
		if t.starts != nil {
			old = t.starts[b+1] - t.starts[b]
		}
		starts[b+1] = starts[b] + old + counts[b+1]
	}
	recs := make([]rec, starts[numBuckets])
	fill := make([]uint32, numBuckets)
	for b := 0; b < numBuckets; b++ {
		fill[b] = starts[b]
		if t.starts != nil {
			fill[b] += uint32(copy(recs[starts[b]:], t.recs[t.starts[b]:t.starts[b+1]]))
		}
	}
	for _, p := range add {
		b := bucketOf(p.id)
		recs[fill[b]] = makeRec(p.id, p.l)
		fill[b]++
	}
	for b := 0; b < numBuckets; b++ {
		bucket := recs[starts[b]:starts[b+1]]
		slices.SortStableFunc(bucket, func(a, b rec) int { return bytes.Compare(a[:suffixSize], b[:suffixSize]) })
	}
	t.recs, t.starts = recs, starts
}

// find returns the location of id in a pack for which alive is true.
func (t *table) find(id blob.ID, alive func(uint32) bool) (loc, bool) {
	if l, ok := t.recent[id]; ok && alive(l.pack) {
		return l, true
	}
	if t.starts == nil {
		return loc{}, false
	}
	b := bucketOf(id)
	bucket := t.recs[t.starts[b]:t.starts[b+1]]
	cmp := func(r rec, id blob.ID) int { return bytes.Compare(r[:suffixSize], id[2:]) }
	i, _ := slices.BinarySearchFunc(bucket, id, cmp)
	for ; i < len(bucket) && cmp(bucket[i], id) == 0; i++ {
		if l := bucket[i].loc(); alive(l.pack) {
			return l, true
		}
	}
	return loc{}, false
}

func (x *Index) alive(p uint32) bool { return !x.dead[p] }

// RemovePacks makes the blobs of the given packs invisible to Lookup (a
// blob also stored in another pack stays visible there). It returns how
// many pack records it removed.
func (x *Index) RemovePacks(ids map[blob.ID]bool) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for i, p := range x.packs {
		if ids[p.id] && !x.dead[uint32(i)] {
			if x.dead == nil {
				x.dead = map[uint32]bool{}
			}
			x.dead[uint32(i)] = true
			n++
		}
	}
	return n
}

// PackIDs returns the set of packs the index names (removed ones excluded).
func (x *Index) PackIDs() map[blob.ID]bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make(map[blob.ID]bool, len(x.packs))
	for i, p := range x.packs {
		if !x.dead[uint32(i)] {
			out[p.id] = true
		}
	}
	return out
}

// Lookup returns where the blob is stored.
func (x *Index) Lookup(h blob.Handle) (Location, bool) {
	if !h.Type.Valid() {
		return Location{}, false
	}
	x.mu.RLock()
	if len(x.tables[h.Type].pending) > 0 {
		x.mu.RUnlock()
		x.Compact()
		x.mu.RLock()
	}
	defer x.mu.RUnlock()
	l, ok := x.tables[h.Type].find(h.ID, x.alive)
	if !ok {
		return Location{}, false
	}
	p := x.packs[l.pack]
	return Location{Pack: p.id, Salt: p.salt, Entry: pack.Entry{
		Type: h.Type, ID: h.ID, Offset: l.offset, Length: l.length, RawLength: l.raw,
		Compressed: l.length-crypto.Overhead < l.raw,
	}}, true
}

// Has reports whether the blob is indexed.
func (x *Index) Has(h blob.Handle) bool {
	_, ok := x.Lookup(h)
	return ok
}

// Len returns the number of indexed blobs of type t, after compaction.
func (x *Index) Len(t blob.Type) int {
	x.Compact()
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.tables[t].recs)
}

// Packs returns the number of pack records.
func (x *Index) Packs() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.packs)
}

// Each calls fn for every indexed blob of type t, once each, in ID order.
// fn must not call the index.
func (x *Index) Each(t blob.Type, fn func(id blob.ID)) {
	if !t.Valid() {
		return
	}
	x.Compact()
	x.mu.RLock()
	defer x.mu.RUnlock()
	tb := &x.tables[t]
	if tb.starts == nil {
		return
	}
	var last blob.ID
	seen := false
	for b := 0; b < numBuckets; b++ {
		for _, r := range tb.recs[tb.starts[b]:tb.starts[b+1]] {
			if !x.alive(r.loc().pack) {
				continue
			}
			var id blob.ID
			id[0], id[1] = byte(b>>8), byte(b)
			copy(id[2:], r[:suffixSize])
			if seen && id == last {
				continue // the same blob in another pack
			}
			last, seen = id, true
			fn(id)
		}
	}
}
