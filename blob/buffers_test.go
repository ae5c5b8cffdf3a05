package blob

import "testing"

// TestBuffers checks the free list's bounds: it hands back what it keeps,
// keeps no more than its count, and drops buffers above its size limit.
func TestBuffers(t *testing.T) {
	b := NewBuffers(2, 16, 64)
	x := b.Get(10)
	if len(x) != 0 || cap(x) < 16 {
		t.Fatalf("new buffer: len %d cap %d, want empty with room for 16", len(x), cap(x))
	}
	x = append(x, "abc"...)
	b.Put(x)
	y := b.Get(8)
	if cap(y) != cap(x) || len(y) != 0 || &y[:1][0] != &x[:1][0] {
		t.Fatalf("Get after Put: a new buffer, want the one given back, emptied")
	}
	if z := b.Get(100); cap(z) < 100 {
		t.Fatalf("Get(100): cap %d", cap(z))
	}
	// Three given back, two kept.
	b.Put(make([]byte, 0, 32))
	b.Put(make([]byte, 0, 32))
	b.Put(make([]byte, 0, 32))
	if n := len(b.free); n != 2 {
		t.Errorf("%d buffers kept, want the count of 2", n)
	}
	// Too large to keep.
	c := NewBuffers(4, 16, 64)
	c.Put(make([]byte, 0, 65))
	if n := len(c.free); n != 0 {
		t.Errorf("a buffer above the size limit was kept")
	}
	// A buffer too small for the request is kept for a later one.
	c.Put(make([]byte, 0, 20))
	if got := c.Get(40); cap(got) < 40 {
		t.Fatalf("Get(40): cap %d", cap(got))
	}
	if got := c.Get(10); cap(got) != 20 {
		t.Errorf("the small buffer was lost: cap %d", cap(got))
	}
	var zero Buffers
	zero.Put(make([]byte, 8))
	if got := zero.Get(4); cap(got) < 4 {
		t.Errorf("zero value Get: cap %d", cap(got))
	}
}
