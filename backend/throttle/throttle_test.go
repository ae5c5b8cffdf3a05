package throttle

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/backendtest"
	"github.com/cairn-backup/cairn/backend/mem"
	"golang.org/x/time/rate"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend { return New(mem.New(), 1<<30, 1<<30) })
}

// Transfers take from the limiters what they send and receive. The
// limiters refill at one byte a second and start full, so their token
// counts say what was taken, whatever the machine's speed.
func TestTransfersAreCounted(t *testing.T) {
	ctx := context.Background()
	const burst = 1 << 20
	b := &Backend{Backend: mem.New(), up: rate.NewLimiter(1, burst), down: rate.NewLimiter(1, burst)}
	h := backend.Handle{Type: backend.Pack, Name: "abcdef"}
	data := bytes.Repeat([]byte("x"), 300<<10)
	taken := func(l *rate.Limiter) float64 { return burst - l.Tokens() }
	if err := b.Save(ctx, h, data); err != nil {
		t.Fatal(err)
	}
	if got := taken(b.up); got < 300<<10-60 || got > 300<<10 {
		t.Errorf("a 300 KiB save took %.0f upload tokens", got)
	}
	rd, err := b.Load(ctx, h, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rd)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("load through the limiter: %v", err)
	}
	if n := taken(b.down); n < 300<<10-60 || n > 300<<10 {
		t.Errorf("a 300 KiB load took %.0f download tokens", n)
	}
	// A cancelled context ends a wait at once.
	slow := New(mem.New(), 1, 0)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := slow.Save(cctx, h, data); err == nil {
		t.Error("a save past the limit ignored its cancelled context")
	}
	// No limit, no wrapper work.
	if New(mem.New(), 0, 0).up != nil {
		t.Error("a zero limit made a limiter")
	}
}
