package repo

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/local"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
)

var update = flag.Bool("update", false, "rewrite the fixture repository in testdata")

const fixtureDir = "testdata/fixture-v1"

var fixturePassword = []byte("fixture password")

func fixtureBlob(i int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("fixture blob %d\n", i)), 1+i*300)
}

// TestFixture opens a repository checked in under testdata and reads every
// blob back: an unintended change to any stored format breaks it. Run with
// -update only when the format version changes on purpose.
func TestFixture(t *testing.T) {
	ctx := context.Background()
	if *update {
		if err := os.RemoveAll(fixtureDir); err != nil {
			t.Fatal(err)
		}
		be, _ := local.Open(fixtureDir)
		r, err := Init(ctx, be, fixturePassword, testOpts)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 8; i++ {
			if _, _, err := r.SaveBlob(ctx, blob.Type(i%2), fixtureBlob(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	be, err := local.Open(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(ctx, be, fixturePassword, testOpts)
	if err != nil {
		t.Fatalf("open fixture: %v", err)
	}
	c := r.Config()
	if c.PackSize != MinPackSize || c.Chunker.Min != 512<<10 || c.Chunker.Max != 8<<20 || c.Chunker.AvgBits != 20 {
		t.Errorf("fixture config = %+v", c)
	}
	for i := 0; i < 8; i++ {
		h := blob.Handle{Type: blob.Type(i % 2), ID: r.Key().ID(fixtureBlob(i))}
		got, err := r.LoadBlob(ctx, h)
		if err != nil {
			t.Fatalf("fixture blob %d: %v", i, err)
		}
		if !bytes.Equal(got, fixtureBlob(i)) {
			t.Errorf("fixture blob %d differs", i)
		}
	}
	for _, ft := range []backend.FileType{backend.Key, backend.Pack, backend.Index} {
		for _, name := range mustNames(t, be, ft) {
			if _, err := loadVerified(ctx, be, backend.Handle{Type: ft, Name: name}); err != nil {
				t.Error(err)
			}
		}
	}
	keys, err := r.Keys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Params != (crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}) {
		t.Errorf("fixture keys = %+v, %v", keys, err)
	}
}
