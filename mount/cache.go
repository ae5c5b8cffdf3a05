//go:build linux

package mount

import (
	"container/list"
	"sync"

	"github.com/cairn-backup/cairn/blob"
)

// lru holds recently used blobs and trees, bounded by their size in
// bytes.
type lru struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List // front: most recently used
	items map[blob.Handle]*list.Element
}

type lruItem struct {
	h    blob.Handle
	v    any
	size int64
}

func newLRU(maxBytes int64) *lru {
	return &lru{max: maxBytes, order: list.New(), items: map[blob.Handle]*list.Element{}}
}

func (c *lru) get(h blob.Handle) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[h]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruItem).v, true
}

func (c *lru) add(h blob.Handle, v any, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[h]; ok {
		c.order.MoveToFront(e)
		return
	}
	if size > c.max {
		return // larger than the whole cache: not kept
	}
	c.items[h] = c.order.PushFront(&lruItem{h, v, size})
	c.size += size
	for c.size > c.max {
		last := c.order.Back()
		it := last.Value.(*lruItem)
		c.order.Remove(last)
		delete(c.items, it.h)
		c.size -= it.size
	}
}
