package local

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/backendtest"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		be, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return be
	})
}

func TestLayoutAndReadOnly(t *testing.T) {
	dir := t.TempDir()
	be, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	name := "abcdef0123456789"
	h := backend.Handle{Type: backend.Pack, Name: name}
	if err := be.Save(context.Background(), h, []byte("x")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "data", "ab", "cd", name)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatalf("pack not at two-level fan-out path: %v", err)
	}
	if got := fi.Mode().Perm(); got&0o222 != 0 {
		t.Errorf("stored file mode %v is writable", got)
	}
	// A temporary file left by a killed save is not listed.
	if err := os.WriteFile(filepath.Join(dir, "data", "ab", "cd", ".tmp-x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	names, err := backend.Names(context.Background(), be, backend.Pack)
	if err != nil || len(names) != 1 || names[0] != name {
		t.Errorf("List = %v, %v; want [%s]", names, err, name)
	}
}

// TestSaveRelease checks that release is called exactly once, before
// SaveRelease returns, on success and on failure, and that the caller may
// overwrite the buffer once it has been released.
func TestSaveRelease(t *testing.T) {
	ctx := context.Background()
	be, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var _ backend.Releaser = be
	data := []byte("pack bytes")
	calls := 0
	h := backend.Handle{Type: backend.Pack, Name: "0123456789abcdef"}
	err = be.SaveRelease(ctx, h, [][]byte{data}, func() {
		calls++
		copy(data, "XXXXXXXXXX") // the buffer is the caller's again
	})
	if err != nil || calls != 1 {
		t.Fatalf("err %v, %d release calls", err, calls)
	}
	rd, err := be.Load(ctx, h, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rd)
	_ = rd.Close()
	if string(got) != "pack bytes" {
		t.Errorf("stored %q", got)
	}
	calls = 0
	if err := be.SaveRelease(ctx, backend.Handle{Type: backend.Pack, Name: "../x"}, [][]byte{data}, func() { calls++ }); err == nil || calls != 1 {
		t.Errorf("invalid name: err %v, %d release calls", err, calls)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	calls = 0
	if err := be.SaveRelease(cctx, h, [][]byte{data}, func() { calls++ }); err == nil || calls != 1 {
		t.Errorf("cancelled: err %v, %d release calls", err, calls)
	}
}

// TestSaveReleaseParts checks that a file saved as parts is the parts one
// after another: thousands of small ones (gathered into larger writes)
// and large ones between them.
func TestSaveReleaseParts(t *testing.T) {
	ctx := context.Background()
	be, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var parts [][]byte
	var want []byte
	for i := range 5000 {
		n := 1 + i%700
		if i%1000 == 999 {
			n = 3 << 20 // larger than the gathering buffer
		}
		p := bytes.Repeat([]byte{byte(i)}, n)
		parts = append(parts, p)
		want = append(want, p...)
	}
	h := backend.Handle{Type: backend.Pack, Name: "fedcba9876543210"}
	if err := be.SaveRelease(ctx, h, parts, func() {}); err != nil {
		t.Fatal(err)
	}
	got, err := backend.ReadAll(ctx, be, h, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("stored %d bytes, want the %d bytes of the parts in order", len(got), len(want))
	}
}
