// Package chunk splits streams into content-defined chunks with Rabin
// fingerprints (github.com/restic/chunker). The same bytes split at the same
// places wherever they occur, so shifted or partly changed files still share
// most chunks. Params, kept in the encrypted repository config, hold the
// repository's random polynomial and the chunk size bounds. Read and chunk
// buffers are pooled.
package chunk

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/restic/chunker"
)

// Defaults: chunks between 512 KiB and 8 MiB, 1 MiB on average.
const (
	DefaultMin     = 512 << 10
	DefaultMax     = 8 << 20
	DefaultAvgBits = 20
	// MaxSize bounds Params.Max, and so every data blob's plaintext.
	MaxSize = 64 << 20
)

// Params configure chunking for one repository.
type Params struct {
	Pol     chunker.Pol
	Min     uint32
	Max     uint32
	AvgBits uint8
}

// NewParams returns default bounds with a new random irreducible polynomial.
func NewParams() (Params, error) {
	pol, err := chunker.RandomPolynomial()
	if err != nil {
		return Params{}, fmt.Errorf("chunker polynomial: %w", err)
	}
	return Params{Pol: pol, Min: DefaultMin, Max: DefaultMax, AvgBits: DefaultAvgBits}, nil
}

// Validate checks bounds read from storage.
func (p Params) Validate() error {
	switch {
	case p.AvgBits < 6 || p.AvgBits > 26:
		return fmt.Errorf("chunk average bits %d out of range 6..26", p.AvgBits)
	case p.Min < 64 || p.Min > 1<<p.AvgBits || 1<<p.AvgBits > p.Max || p.Max > MaxSize:
		return fmt.Errorf("chunk sizes min %d, average %d, max %d are inconsistent", p.Min, 1<<p.AvgBits, p.Max)
	case p.Pol.Deg() != 53 || !p.Pol.Irreducible():
		return errors.New("chunker polynomial is not irreducible of degree 53")
	}
	return nil
}

var readBufs = sync.Pool{New: func() any { b := make([]byte, 512<<10); return &b }}

var chunkBufs = map[uint32]*sync.Pool{}
var chunkBufsMu sync.Mutex

func chunkPool(max uint32) *sync.Pool {
	chunkBufsMu.Lock()
	defer chunkBufsMu.Unlock()
	p := chunkBufs[max]
	if p == nil {
		// Start small: most files are far below the maximum chunk size,
		// and append grows a buffer (kept in the pool) when needed.
		p = &sync.Pool{New: func() any { b := make([]byte, 0, min(max, 1<<20)); return &b }}
		chunkBufs[max] = p
	}
	return p
}

// Chunker cuts one stream. It is not safe for concurrent use.
//
// It drives chunker.BaseChunker over its own pooled read buffer:
// chunker.New allocates a fresh 512 KiB buffer per stream, which for a
// tree of many small files cost more CPU than everything else.
type Chunker struct {
	base       *chunker.BaseChunker
	rd         io.Reader
	rbuf       *[]byte
	bpos, bmax int
	eof        bool
	data       []byte
	pool       *sync.Pool
}

// templates holds, per Params, a BaseChunker in its initial state.
// chunker.NewBase allocates about 4 KiB and copies its tables under a
// global lock; a new stream instead copies the template into a recycled
// BaseChunker.
var (
	templatesMu sync.Mutex
	templates   = map[Params]*chunker.BaseChunker{}
	bases       sync.Pool
)

func (p Params) template() *chunker.BaseChunker {
	templatesMu.Lock()
	defer templatesMu.Unlock()
	t := templates[p]
	if t == nil {
		t = chunker.NewBase(p.Pol, chunker.WithBaseBoundaries(uint(p.Min), uint(p.Max)), chunker.WithBaseAverageBits(int(p.AvgBits)))
		templates[p] = t
	}
	return t
}

// New returns a chunker reading rd. Call Release when done.
func (p Params) New(rd io.Reader) *Chunker {
	base, _ := bases.Get().(*chunker.BaseChunker)
	if base == nil {
		base = new(chunker.BaseChunker)
	}
	*base = *p.template() // a fresh state: the same as chunker.NewBase
	return &Chunker{base: base, rd: rd, rbuf: readBufs.Get().(*[]byte), pool: chunkPool(p.Max)}
}

// Next returns the next chunk, or io.EOF after the last. The returned slice
// is valid only until the next call to Next or Release.
func (c *Chunker) Next() ([]byte, error) {
	if c.data == nil {
		c.data = (*c.pool.Get().(*[]byte))[:0] // taken on first use: NextInto needs none
	}
	var err error
	c.data, err = c.next(c.data[:0])
	if err != nil {
		return nil, err
	}
	return c.data, nil
}

// NextInto is Next that appends the chunk to dst[:0] and returns it: the
// caller owns the bytes, and no copy of them is kept in the chunker. A
// caller handing chunks to other goroutines saves a copy per chunk and
// decides how many chunk buffers exist at once.
func (c *Chunker) NextInto(dst []byte) ([]byte, error) {
	return c.next(dst[:0])
}

// next appends the next chunk to data.
func (c *Chunker) next(data []byte) ([]byte, error) {
	buf := *c.rbuf
	for {
		if c.bpos >= c.bmax {
			if c.eof {
				if len(data) > 0 {
					return data, nil
				}
				return data, io.EOF
			}
			n, err := io.ReadFull(c.rd, buf)
			switch {
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				c.eof = true
			case err != nil:
				return data, err
			}
			c.bpos, c.bmax = 0, n
			continue
		}
		split := c.base.NextSplitPoint(buf[c.bpos:c.bmax])
		if split < 0 {
			data = append(grow(data, c.bmax-c.bpos), buf[c.bpos:c.bmax]...)
			c.bpos = c.bmax
			continue
		}
		data = append(grow(data, split), buf[c.bpos:c.bpos+split]...)
		c.bpos += split
		return data, nil
	}
}

// grow makes room for n more bytes in data, doubling its capacity when it
// must grow: append alone grows large slices by a quarter at a time, and a
// chunk of several MiB would be copied a dozen times on its way.
func grow(data []byte, n int) []byte {
	if cap(data)-len(data) >= n {
		return data
	}
	return slices.Grow(data, max(n, cap(data)))
}

// Release returns the chunker's buffers to their pools.
func (c *Chunker) Release() {
	if c.rbuf != nil {
		readBufs.Put(c.rbuf)
		if c.data != nil {
			d := c.data[:0]
			c.pool.Put(&d)
		}
		bases.Put(c.base)
		c.rbuf, c.data, c.base = nil, nil, nil
	}
}
