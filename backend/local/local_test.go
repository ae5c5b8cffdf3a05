package local

import (
	"context"
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
