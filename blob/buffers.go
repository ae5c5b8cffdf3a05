package blob

// Buffers is a bounded free list of byte buffers for blobs in flight.
//
// Unlike a sync.Pool it never holds more than its count, and it keeps no
// buffer larger than its size limit: the memory a pipeline stage holds
// idle is at most count × keep, whatever sizes passed through it. A
// buffer it does not keep is left to the garbage collector. The zero
// value keeps nothing; it is safe for concurrent use.
type Buffers struct {
	free chan []byte
	keep int
	size int
}

// NewBuffers returns a free list of at most count buffers, each of at most
// keep bytes of capacity; Get makes new ones with room for size bytes.
func NewBuffers(count, size, keep int) *Buffers {
	return &Buffers{free: make(chan []byte, count), keep: keep, size: size}
}

// Get returns an empty buffer with room for n bytes: a free one when the
// list has one large enough, else a new one.
func (b *Buffers) Get(n int) []byte {
	if b.free != nil {
		select {
		case buf := <-b.free:
			if cap(buf) >= n {
				return buf[:0]
			}
			b.Put(buf) // too small for this one; keep it for the next
		default:
		}
	}
	return make([]byte, 0, max(n, b.size))
}

// Put gives buf back. It is dropped when the list is full or buf is
// larger than the list keeps. Nothing may use buf afterwards.
func (b *Buffers) Put(buf []byte) {
	if b.free == nil || cap(buf) == 0 || cap(buf) > b.keep {
		return
	}
	select {
	case b.free <- buf[:0]:
	default:
	}
}
