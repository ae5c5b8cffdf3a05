package chunk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/restic/chunker"
)

func randomData(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func chunks(t testing.TB, p Params, data []byte) [][]byte {
	t.Helper()
	c := p.New(bytes.NewReader(data))
	defer c.Release()
	var out [][]byte
	for {
		b, err := c.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(b))
	}
}

func TestChunking(t *testing.T) {
	p, err := NewParams()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	data := randomData(20<<20, 1)
	cs := chunks(t, p, data)
	if got := bytes.Join(cs, nil); !bytes.Equal(got, data) {
		t.Fatal("chunks do not reassemble the input")
	}
	for i, c := range cs[:len(cs)-1] {
		if len(c) < int(p.Min) || len(c) > int(p.Max) {
			t.Errorf("chunk %d has size %d outside [%d, %d]", i, len(c), p.Min, p.Max)
		}
	}
	// Content-defined: inserting bytes at the front keeps most chunks.
	shifted := chunks(t, p, append([]byte("prefix"), data...))
	seen := map[string]bool{}
	for _, c := range cs {
		seen[string(c)] = true
	}
	shared := 0
	for _, c := range shifted {
		if seen[string(c)] {
			shared++
		}
	}
	if shared < len(cs)-2 {
		t.Errorf("only %d of %d chunks survive a 6-byte insertion", shared, len(cs))
	}
}

func TestValidate(t *testing.T) {
	good, _ := NewParams()
	bad := []Params{
		{Pol: good.Pol, Min: 1 << 21, Max: 8 << 20, AvgBits: 20},
		{Pol: good.Pol, Min: 512, Max: 1 << 30, AvgBits: 20},
		{Pol: good.Pol, Min: 512, Max: 8 << 20, AvgBits: 40},
		{Pol: 12345, Min: 512 << 10, Max: 8 << 20, AvgBits: 20},
	}
	for _, p := range bad {
		if p.Validate() == nil {
			t.Errorf("Validate(%+v) accepted", p)
		}
	}
}

func BenchmarkChunker(b *testing.B) {
	p, _ := NewParams()
	data := randomData(32<<20, 2)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c := p.New(bytes.NewReader(data))
		for {
			if _, err := c.Next(); err != nil {
				break
			}
		}
		c.Release()
	}
}

// TestSameCutsAsRestic checks that the pooled chunker cuts exactly where
// restic/chunker's own Chunker does, so existing repositories keep
// deduplicating. The sizes go up and then down again, so recycled
// chunkers that last cut a long stream are used for short ones too.
func TestSameCutsAsRestic(t *testing.T) {
	p, _ := NewParams()
	for _, n := range []int{0, 1, 100, 600 << 10, 5 << 20, 21<<20 + 7, 9 << 20, 700 << 10, 100} {
		data := randomData(n, uint64(n))
		ref := chunker.New(bytes.NewReader(data), p.Pol, chunker.WithBoundaries(uint(p.Min), uint(p.Max)), chunker.WithAverageBits(int(p.AvgBits)))
		var want []int
		for {
			c, err := ref.Next(nil)
			if err != nil {
				break
			}
			want = append(want, int(c.Length))
		}
		var got []int
		for _, c := range chunks(t, p, data) {
			got = append(got, len(c))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%d bytes: cuts %v, restic/chunker cuts %v", n, got, want)
		}
	}
}

// TestNextInto checks that chunks read into the caller's buffers are the
// chunks Next returns, and that NextInto reuses a buffer with room.
func TestNextInto(t *testing.T) {
	p, _ := NewParams()
	data := randomData(21<<20+5, 7)
	want := chunks(t, p, data)
	c := p.New(bytes.NewReader(data))
	defer c.Release()
	buf := make([]byte, 0, p.Max)
	for i := 0; ; i++ {
		got, err := c.NextInto(buf)
		if err == io.EOF {
			if i != len(want) {
				t.Fatalf("%d chunks, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(want) || !bytes.Equal(got, want[i]) {
			t.Fatalf("chunk %d differs from Next's", i)
		}
		if &got[:1][0] != &buf[:1][0] {
			t.Fatalf("chunk %d was not read into the buffer given", i)
		}
	}
}
