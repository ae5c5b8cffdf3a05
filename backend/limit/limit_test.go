package limit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/backendtest"
	"github.com/cairn-backup/cairn/backend/mem"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend { return New(mem.New(), 2) })
}

// counting records the most calls in flight at once.
type counting struct {
	backend.Backend
	cur, peak atomic.Int32
}

func (c *counting) Save(ctx context.Context, h backend.Handle, data []byte) error {
	n := c.cur.Add(1)
	defer c.cur.Add(-1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return c.Backend.Save(ctx, h, data)
}

func TestLimit(t *testing.T) {
	c := &counting{Backend: mem.New()}
	be := New(c, 3)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_ = be.Save(context.Background(), backend.Handle{Type: backend.Pack, Name: "abcd" + string(rune('a'+i%26))}, []byte("x"))
		}(i)
	}
	wg.Wait()
	if p := c.peak.Load(); p > 3 {
		t.Errorf("%d calls in flight, limit 3", p)
	}
}
