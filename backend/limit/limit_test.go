package limit

import (
	"context"
	"fmt"
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

func (c *counting) enter() func() {
	n := c.cur.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return func() { c.cur.Add(-1) }
}

func (c *counting) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	defer c.enter()()
	return c.Backend.List(ctx, t, fn)
}

// Listings count against the limit too, and fn may call the backend
// while every slot is taken by listings.
func TestLimitBoundsList(t *testing.T) {
	ctx := context.Background()
	c := &counting{Backend: mem.New()}
	be := New(c, 2)
	for i := range 5 {
		if err := be.Save(ctx, backend.Handle{Type: backend.Pack, Name: fmt.Sprintf("abcd%02d", i)}, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			err := be.List(ctx, backend.Pack, func(fi backend.FileInfo) error {
				n++
				_, err := be.Stat(ctx, backend.Handle{Type: backend.Pack, Name: fi.Name})
				return err
			})
			if err != nil || n != 5 {
				t.Errorf("list: %v, %d files", err, n)
			}
		}()
	}
	wg.Wait()
	if p := c.peak.Load(); p > 2 {
		t.Errorf("%d listings in flight, limit 2", p)
	}
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
