package faulty

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/mem"
)

func TestFaults(t *testing.T) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("cairn"), 1000)
	h := backend.Handle{Type: backend.Pack, Name: "0123456789"}

	be := New(mem.New(), Config{ErrorRate: 1})
	if err := be.Save(ctx, h, data); !errors.Is(err, ErrInjected) {
		t.Errorf("Save with ErrorRate 1: %v", err)
	}

	inner := mem.New()
	be = New(inner, Config{TruncateRate: 1})
	if err := be.Save(ctx, h, data); err != nil {
		t.Fatal(err)
	}
	if fi, _ := inner.Stat(ctx, h); fi.Size >= int64(len(data)) {
		t.Errorf("truncated save stored %d bytes of %d", fi.Size, len(data))
	}

	if err := inner.Save(ctx, h, data); err != nil {
		t.Fatal(err)
	}
	be = New(inner, Config{FlipRate: 1, Seed: 3})
	got, err := backend.ReadAll(ctx, be, h, 0, 0)
	if err != nil || len(got) != len(data) || bytes.Equal(got, data) {
		t.Errorf("bit flip: got %d bytes, equal=%v, err %v", len(got), bytes.Equal(got, data), err)
	}
	be = New(inner, Config{ShortReadRate: 1, Seed: 3})
	if _, err := backend.ReadAll(ctx, be, h, 0, int64(len(data))); err == nil {
		t.Error("short read went unnoticed by ReadAll")
	}

	be = New(inner, Config{FailSaveAfter: 2, FailSaveType: backend.Pack})
	for i, want := range []bool{true, true, false} {
		err := be.Save(ctx, backend.Handle{Type: backend.Pack, Name: "abcd" + string(rune('a'+i))}, data)
		if (err == nil) != want {
			t.Errorf("save %d: err %v, want success %v", i, err, want)
		}
	}
	if err := be.Save(ctx, backend.Handle{Type: backend.Index, Name: "abcdef"}, data); err != nil {
		t.Errorf("index save failed with FailSaveType pack: %v", err)
	}
	if be.Unwrap() != inner {
		t.Error("Unwrap does not return the wrapped backend")
	}
}
