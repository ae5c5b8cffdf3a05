package index

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/pack"
)

func randomID(r *rand.Rand) blob.ID {
	var id blob.ID
	for i := 0; i < blob.IDSize; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			id[i+j] = byte(v >> (8 * j))
		}
	}
	return id
}

// randomFile returns an index file of np packs with nb blobs each.
func randomFile(r *rand.Rand, np, nb int) *File {
	f := &File{}
	for i := 0; i < np; i++ {
		p := Pack{ID: randomID(r)}
		p.Salt[0] = byte(i)
		off := uint32(0)
		for j := 0; j < nb; j++ {
			raw := uint32(r.IntN(1 << 20))
			e := pack.Entry{Type: blob.Type(j % 2), ID: randomID(r), Offset: off, RawLength: raw, Length: raw + crypto.Overhead}
			if j%3 == 0 && raw > 10 {
				e.Compressed, e.Length = true, raw/2+crypto.Overhead
			}
			off += e.Length
			p.Blobs = append(p.Blobs, e)
		}
		f.Packs = append(f.Packs, p)
	}
	return f
}

func TestFileRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	f := randomFile(r, 5, 7)
	f.Supersedes = []blob.ID{randomID(r)}
	b := f.Encode()
	g, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g.Encode(), b) {
		t.Error("decoded file re-encodes differently")
	}
	for n := 0; n < len(b); n += 7 {
		if _, err := Decode(b[:n]); !errors.Is(err, ErrFormat) {
			t.Fatalf("truncated at %d: %v", n, err)
		}
	}
}

// TestSplit checks that Split keeps every pack, in order, in runs of at
// most the given blob count, a larger pack alone.
func TestSplit(t *testing.T) {
	counts := func(runs [][]Pack) (out [][]int) {
		for _, run := range runs {
			var c []int
			for _, p := range run {
				c = append(c, len(p.Blobs))
			}
			out = append(out, c)
		}
		return out
	}
	mk := func(sizes ...int) []Pack {
		var packs []Pack
		for _, n := range sizes {
			packs = append(packs, Pack{Blobs: make([]pack.Entry, n)})
		}
		return packs
	}
	cases := []struct {
		sizes []int
		want  string
	}{
		{nil, "[]"},
		{[]int{3}, "[[3]]"},
		{[]int{4, 6, 1}, "[[4 6] [1]]"},
		{[]int{25, 2, 3, 9, 1}, "[[25] [2 3] [9 1]]"},
		{[]int{10, 10, 10}, "[[10] [10] [10]]"},
	}
	for _, c := range cases {
		if got := fmt.Sprint(counts(Split(mk(c.sizes...), 10))); got != c.want {
			t.Errorf("Split(%v, 10) = %s, want %s", c.sizes, got, c.want)
		}
	}
}

func TestLookup(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	f1, f2 := randomFile(r, 20, 50), randomFile(r, 3, 10)
	x := New()
	x.AddFile(f1)
	for _, p := range f2.Packs {
		x.Add(p)
	}
	check := func() {
		t.Helper()
		for _, f := range []*File{f1, f2} {
			for _, p := range f.Packs {
				for _, e := range p.Blobs {
					got, ok := x.Lookup(e.Handle())
					if !ok {
						t.Fatalf("blob %v not found", e.Handle())
					}
					if got.Pack != p.ID || got.Salt != p.Salt || got.Entry != e {
						t.Fatalf("Lookup(%v) = %+v, want pack %v entry %+v", e.Handle(), got, p.ID.Short(), e)
					}
				}
			}
		}
	}
	check()
	x.Compact()
	check()
	if x.Has(blob.Handle{Type: blob.Data, ID: randomID(r)}) {
		t.Error("random ID found")
	}
	if got, want := x.Len(blob.Data)+x.Len(blob.Tree), 20*50+3*10; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
	// The same ID under the other type is a different blob.
	e := f1.Packs[0].Blobs[0]
	if x.Has(blob.Handle{Type: 1 - e.Type, ID: e.ID}) {
		t.Error("blob found under the wrong type")
	}
}

func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	f.Add(randomFile(r, 2, 3).Encode())
	f.Add((&File{}).Encode())
	f.Add([]byte{1, 0, 0, 0, 0, 255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(b)
		if err != nil {
			return
		}
		if !bytes.Equal(file.Encode(), b) {
			t.Error("re-encoding differs")
		}
		x := New()
		x.AddFile(file)
		x.Compact()
	})
}

// BenchmarkIndexMemory builds an index of 10 million blobs, 32 per pack (a
// 16 MiB pack of ~0.5 MiB stored chunks), and reports heap bytes per blob.
func BenchmarkIndexMemory(b *testing.B) {
	const blobs, perPack = 10_000_000, 32
	r := rand.New(rand.NewPCG(7, 8))
	f := randomFile(r, blobs/perPack, perPack)
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		x := New()
		x.AddFile(f)
		x.Compact()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/blobs, "bytes/blob")
		runtime.KeepAlive(x)
	}
}

func BenchmarkLookup(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	f := randomFile(r, 10000, 100)
	x := New()
	x.AddFile(f)
	x.Compact()
	hs := make([]blob.Handle, 0, 1<<16)
	for _, p := range f.Packs {
		for _, e := range p.Blobs {
			hs = append(hs, e.Handle())
		}
	}
	i := 0
	for b.Loop() {
		if !x.Has(hs[i%len(hs)]) {
			b.Fatal("missing")
		}
		i++
	}
}

func TestRemovePacks(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	f := randomFile(r, 3, 4)
	// The first blob of pack 0 is also stored in pack 2.
	dup := f.Packs[0].Blobs[0]
	dup.Offset = 0
	f.Packs[2].Blobs = append(f.Packs[2].Blobs, dup)
	for _, compact := range []bool{false, true} {
		x := New()
		if compact {
			x.AddFile(f)
			x.Compact()
		} else {
			for _, p := range f.Packs {
				x.Add(p)
			}
		}
		if n := x.RemovePacks(map[blob.ID]bool{f.Packs[0].ID: true}); n != 1 {
			t.Fatalf("removed %d packs", n)
		}
		if x.Has(f.Packs[0].Blobs[1].Handle()) {
			t.Error("blob of a removed pack is still visible")
		}
		loc, ok := x.Lookup(dup.Handle())
		if !ok || loc.Pack != f.Packs[2].ID {
			t.Errorf("duplicate blob: found=%v in %v, want it in the surviving pack", ok, loc.Pack.Short())
		}
		if ids := x.PackIDs(); len(ids) != 2 || ids[f.Packs[0].ID] {
			t.Errorf("PackIDs = %v", ids)
		}
	}
}

// Each visits every live blob once, in ID order, duplicates and blobs of
// removed packs excluded.
func TestEach(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	f := randomFile(r, 3, 6)
	dup := f.Packs[0].Blobs[0] // stored twice
	f.Packs[1].Blobs = append(f.Packs[1].Blobs, dup)
	x := New()
	x.AddFile(f)
	x.RemovePacks(map[blob.ID]bool{f.Packs[2].ID: true})
	want := map[blob.ID]bool{}
	for _, p := range f.Packs[:2] {
		for _, e := range p.Blobs {
			if e.Type == blob.Data {
				want[e.ID] = true
			}
		}
	}
	var got []blob.ID
	x.Each(blob.Data, func(id blob.ID) { got = append(got, id) })
	if len(got) != len(want) {
		t.Fatalf("Each visited %d data blobs, want %d", len(got), len(want))
	}
	for i, id := range got {
		if !want[id] || (i > 0 && bytes.Compare(got[i-1][:], id[:]) >= 0) {
			t.Errorf("blob %d: %v unexpected or out of order", i, id.Short())
		}
	}
}
