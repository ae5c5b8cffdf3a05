package throttle

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/backendtest"
	"github.com/cairn-backup/cairn/backend/mem"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend { return New(mem.New(), 1<<30, 1<<30) })
}

// Transfers take from the limiters what they send and receive (checked on
// the limiters' token counts, not with a clock).
func TestTransfersAreCounted(t *testing.T) {
	ctx := context.Background()
	b := New(mem.New(), 1<<20, 1<<20)
	h := backend.Handle{Type: backend.Pack, Name: "abcdef"}
	data := bytes.Repeat([]byte("x"), 300<<10)
	if err := b.Save(ctx, h, data); err != nil {
		t.Fatal(err)
	}
	if got := b.up.Tokens(); got > float64(1<<20-290<<10) {
		t.Errorf("after a 300 KiB save, %.0f upload tokens are left of %d", got, 1<<20)
	}
	rd, err := b.Load(ctx, h, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rd)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("load through the limiter: %v", err)
	}
	if left := b.down.Tokens(); left > float64(1<<20-290<<10) {
		t.Errorf("after a 300 KiB load, %.0f download tokens are left", left)
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
