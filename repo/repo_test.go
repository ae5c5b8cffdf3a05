package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/faulty"
	"github.com/cairn-backup/cairn/backend/local"
	"github.com/cairn-backup/cairn/backend/mem"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/pack"
	"golang.org/x/sync/errgroup"
)

var testOpts = Options{KDF: crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, PackSize: MinPackSize}

var pw = []byte("correct horse")

func initRepo(t testing.TB, be backend.Backend) *Repository {
	t.Helper()
	r, err := Init(context.Background(), be, pw, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func testBlob(i int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 42))
	n := 1 + r.IntN(40000)
	b := make([]byte, n)
	for j := range b {
		if j%3 == 0 {
			b[j] = byte(r.Uint32())
		} else {
			b[j] = "abcdefgh"[j%8]
		}
	}
	return b
}

// snapshotFiles returns every file's path and bytes.
func snapshotFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestSaveLoadReopen(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"mem", "local"} {
		t.Run(name, func(t *testing.T) {
			var be backend.Backend = mem.New()
			if name == "local" {
				l, err := local.Open(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				be = l
			}
			r := initRepo(t, be)
			var g errgroup.Group
			ids := make([]blob.ID, 200)
			for i := range ids {
				g.Go(func() error {
					id, _, err := r.SaveBlob(ctx, blob.Type(i%2), testBlob(i))
					ids[i] = id
					return err
				})
			}
			if err := g.Wait(); err != nil {
				t.Fatal(err)
			}
			// Saving again is deduplicated.
			if _, known, err := r.SaveBlob(ctx, blob.Data, testBlob(0)); err != nil || !known {
				t.Errorf("re-save: known=%v err=%v", known, err)
			}
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			r2, err := Open(ctx, be, pw, testOpts)
			if err != nil {
				t.Fatal(err)
			}
			if r2.Config() != r.Config() {
				t.Error("config differs after reopen")
			}
			for i, id := range ids {
				got, err := r2.LoadBlob(ctx, blob.Handle{Type: blob.Type(i % 2), ID: id})
				if err != nil {
					t.Fatalf("blob %d: %v", i, err)
				}
				if !bytes.Equal(got, testBlob(i)) {
					t.Fatalf("blob %d differs", i)
				}
			}
			if got := r2.Index().Len(blob.Data) + r2.Index().Len(blob.Tree); got != len(ids) {
				t.Errorf("index holds %d blobs, want %d", got, len(ids))
			}
			// Packs hold one blob type each.
			for _, name := range mustNames(t, be, backend.Pack) {
				data, err := backend.ReadAll(ctx, be, backend.Handle{Type: backend.Pack, Name: name}, 0, 0)
				if err != nil {
					t.Fatal(err)
				}
				pr, err := pack.NewReader(bytes.NewReader(data), int64(len(data)), r.Key())
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range pr.Entries() {
					if e.Type != pr.Entries()[0].Type {
						t.Fatalf("pack %s mixes blob types", name[:8])
					}
				}
				if crypto.Hash(data).String() != name {
					t.Fatalf("pack %s is not named by its hash", name[:8])
				}
			}
		})
	}
}

func mustNames(t testing.TB, be backend.Backend, ft backend.FileType) []string {
	t.Helper()
	names, err := backend.Names(context.Background(), be, ft)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	be, _ := local.Open(dir)
	if _, err := Open(ctx, be, pw, testOpts); !errors.Is(err, ErrNoRepository) {
		t.Errorf("open of empty dir: %v, want ErrNoRepository", err)
	}
	initRepo(t, be)
	if _, err := Init(ctx, be, pw, testOpts); !errors.Is(err, ErrExists) {
		t.Errorf("second init: %v, want ErrExists", err)
	}
	before := snapshotFiles(t, dir)
	if _, err := Open(ctx, be, []byte("wrong"), testOpts); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
	if after := snapshotFiles(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Error("a failed open changed the repository's files")
	}
}

func TestKeys(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := initRepo(t, be)
	keys, err := r.Keys(ctx)
	if err != nil || len(keys) != 1 || !keys[0].Current {
		t.Fatalf("Keys = %+v, %v", keys, err)
	}
	if _, err := r.RemoveKey(ctx, keys[0].Name[:6]); !errors.Is(err, ErrLastKey) {
		t.Errorf("removing the only key: %v", err)
	}
	second, err := r.AddKey(ctx, []byte("second"))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Open(ctx, be, []byte("second"), testOpts)
	if err != nil {
		t.Fatalf("open with added key: %v", err)
	}
	if r2.KeyName() != second {
		t.Error("opened with the wrong key")
	}
	if _, err := r2.RemoveKey(ctx, second); !errors.Is(err, ErrLastKey) {
		t.Errorf("removing the key in use: %v", err)
	}
	if _, err := r2.RemoveKey(ctx, keys[0].Name); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, be, pw, testOpts); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("removed key still opens: %v", err)
	}
	if _, err := r2.ChangePassword(ctx, []byte("third")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, be, []byte("second"), testOpts); !errors.Is(err, ErrWrongPassword) {
		t.Error("old password still works after passwd")
	}
	if _, err := Open(ctx, be, []byte("third"), testOpts); err != nil {
		t.Errorf("new password: %v", err)
	}
	if n := len(mustNames(t, be, backend.Key)); n != 1 {
		t.Errorf("%d key files after passwd, want 1", n)
	}
}

// Truncated uploads are caught by the size check after saving, and bit
// flips on download by blob verification: bad bytes are never accepted.
func TestFaults(t *testing.T) {
	ctx := context.Background()
	inner := mem.New()
	initRepo(t, inner)
	r, err := Open(ctx, faulty.New(inner, faulty.Config{TruncateRate: 1}), pw, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.SaveBlob(ctx, blob.Data, testBlob(1)); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); !errors.Is(err, crypto.ErrCorrupt) {
		t.Errorf("flush through truncating backend: %v, want ErrCorrupt", err)
	}
	if _, _, err := r.SaveBlob(ctx, blob.Data, testBlob(2)); err == nil {
		t.Error("repository accepted blobs after a failed pack upload")
	}

	r, _ = Open(ctx, inner, pw, testOpts)
	id, _, _ := r.SaveBlob(ctx, blob.Data, testBlob(3))
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rf, err := Open(ctx, inner, pw, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	rf.be = faulty.New(inner, faulty.Config{FlipRate: 1, Seed: 9})
	_, err = rf.LoadBlob(ctx, blob.Handle{Type: blob.Data, ID: id})
	var be *pack.BlobError
	if !errors.As(err, &be) || be.Handle.ID != id {
		t.Errorf("load with bit flip: %v, want BlobError for the blob", err)
	}
}

// A command killed after some packs were stored leaves them unindexed; a
// checkpoint index makes them reusable.
func TestCheckpoint(t *testing.T) {
	ctx := context.Background()
	inner := mem.New()
	initRepo(t, inner)
	r, _ := Open(ctx, inner, pw, testOpts)
	for i := 0; i < 20; i++ {
		if _, _, err := r.SaveBlob(ctx, blob.Data, testBlob(100+i)); err != nil {
			t.Fatal(err)
		}
	}
	// The checkpoint indexes the packs whose upload finished: wait for
	// those started, so that the test does not depend on how fast the
	// uploads run on a loaded machine.
	if err := r.waitUploads(); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteIndex(ctx); err != nil {
		t.Fatal(err)
	}
	// The "killed" handle is dropped here without Flush.
	r2, _ := Open(ctx, inner, pw, testOpts)
	stored := r2.Index().Len(blob.Data)
	if stored == 0 {
		t.Fatal("checkpoint indexed nothing")
	}
	known := 0
	for i := 0; i < 20; i++ {
		_, k, err := r2.SaveBlob(ctx, blob.Data, testBlob(100+i))
		if err != nil {
			t.Fatal(err)
		}
		if k {
			known++
		}
	}
	if known != stored {
		t.Errorf("%d blobs reused, want %d", known, stored)
	}
}

// A config with a lock policy is version 2 and decodes to the same
// policy; one without stays version 1 (the fixture pins its bytes).
func TestConfigLockPolicy(t *testing.T) {
	c, err := newConfig(0)
	if err != nil {
		t.Fatal(err)
	}
	if b := c.Encode(); b[0] != 1 || len(b) != configSize {
		t.Errorf("config without a lock: version %d, %d bytes", b[0], len(b))
	}
	for _, p := range []LockPolicy{{LockGovernance, 24 * time.Hour}, {LockCompliance, 90 * 24 * time.Hour}} {
		c.Lock = p
		b := c.Encode()
		got, err := DecodeConfig(b)
		if err != nil || b[0] != 2 || got != c {
			t.Errorf("%+v: version %d, decoded %+v, %v", p, b[0], got.Lock, err)
		}
	}
	for _, bad := range []LockPolicy{{"sometimes", time.Hour}, {LockGovernance, 0}, {LockGovernance, 1500 * time.Millisecond}} {
		c.Lock = bad
		if c.Validate() == nil {
			t.Errorf("lock policy %+v accepted", bad)
		}
	}
}

func FuzzDecodeConfig(f *testing.F) {
	c, err := newConfig(0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c.Encode())
	c.Lock = LockPolicy{Mode: LockCompliance, Period: 30 * 24 * time.Hour}
	f.Add(c.Encode())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeConfig(b)
		if err == nil && !bytes.Equal(c.Encode(), b) {
			t.Error("config re-encodes differently")
		}
	})
}

func FuzzOpenConfig(f *testing.F) {
	key, _ := crypto.NewRandomKey()
	c, _ := newConfig(0)
	data, _ := sealConfig(key, c)
	f.Add(data)
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, err := openConfig(key, b); err == nil && got != c {
			t.Error("forged config accepted")
		}
	})
}

func FuzzUnframe(f *testing.F) {
	f.Add([]byte{0, 1, 2})
	f.Add([]byte{1, 200, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = unframe(b) })
}

// TestBackupMemory checks the backup memory estimate, which grows by 72
// bytes per indexed blob, and that blobs gathered in recycled arenas and
// built in recycled pack buffers, over many packs, all come back intact.
func TestBackupMemory(t *testing.T) {
	ctx := context.Background()
	r := initRepo(t, mem.New())
	empty := r.BackupMemory()
	if min := int64(cap(r.uploadSem)+1)*int64(r.bufSize()) + int64(r.packTarget(blob.Tree)); empty < min {
		t.Fatalf("estimate %d below the pack buffers' %d", empty, min)
	}
	const n = 300
	ids := make([]blob.ID, n)
	for i := range n {
		id, _, err := r.SaveBlob(ctx, blob.Data, testBlob(i))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if r.idx.Packs() < 20 {
		t.Fatalf("only %d packs: the buffers were not recycled often", r.idx.Packs())
	}
	if got := r.BackupMemory() - empty; got != n*72 {
		t.Errorf("estimate grew by %d for %d blobs, want %d", got, n, n*72)
	}
	for i, id := range ids {
		got, err := r.LoadBlob(ctx, blob.Handle{Type: blob.Data, ID: id})
		if err != nil || !bytes.Equal(got, testBlob(i)) {
			t.Fatalf("blob %d: %v", i, err)
		}
	}
}
