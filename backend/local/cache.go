package local

import (
	"os"
	"sync"
)

// fileCache keeps recently read pack files open, so that reading many
// blobs of one pack (restore, check, prune) does not open and close the
// file for every blob. Entries are dropped when the file is replaced or
// removed.
type fileCache struct {
	mu    sync.Mutex // guards files, order
	files map[string]*cachedFile
	order []string // oldest first
}

type cachedFile struct {
	f       *os.File
	refs    int
	evicted bool
}

const cachedFiles = 64

func (c *fileCache) acquire(name string) (*cachedFile, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cf, ok := c.files[name]; ok {
		cf.refs++
		return cf, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	if c.files == nil {
		c.files = map[string]*cachedFile{}
	}
	cf := &cachedFile{f: f, refs: 1}
	c.files[name] = cf
	c.order = append(c.order, name)
	for len(c.order) > cachedFiles {
		c.dropLocked(c.order[0])
	}
	return cf, nil
}

func (c *fileCache) release(cf *cachedFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cf.refs--
	if cf.evicted && cf.refs == 0 {
		_ = cf.f.Close()
	}
}

// drop forgets name; an open reader keeps its descriptor until it closes.
func (c *fileCache) drop(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(name)
}

func (c *fileCache) dropLocked(name string) {
	for i, n := range c.order {
		if n == name {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	cf, ok := c.files[name]
	if !ok {
		return
	}
	delete(c.files, name)
	cf.evicted = true
	if cf.refs == 0 {
		_ = cf.f.Close()
	}
}

// closeAll closes every idle file.
func (c *fileCache) closeAll() {
	c.mu.Lock()
	names := append([]string(nil), c.order...)
	c.mu.Unlock()
	for _, n := range names {
		c.drop(n)
	}
}
