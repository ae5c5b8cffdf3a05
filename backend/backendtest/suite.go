// Package backendtest is the conformance suite every backend passes. A
// backend's tests call Run with a function that returns a new, empty
// backend.
package backendtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"testing"

	"github.com/cairn-backup/cairn/backend"
)

func name(data []byte) string {
	var s [16]byte
	copy(s[:], data)
	return hex.EncodeToString(s[:]) + fmt.Sprintf("%08x", len(data))
}

func random(t testing.TB, n int) []byte {
	t.Helper()
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		t.Fatal(err)
	}
	return buf
}

// Run runs the conformance suite against backends made by newBackend.
func Run(t *testing.T, newBackend func(t *testing.T) backend.Backend) {
	tests := []struct {
		name string
		fn   func(*testing.T, backend.Backend)
	}{
		{"SaveLoad", testSaveLoad},
		{"RangeLoad", testRangeLoad},
		{"NotExist", testNotExist},
		{"List", testList},
		{"Remove", testRemove},
		{"Replace", testReplace},
		{"Concurrent", testConcurrent},
		{"Config", testConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newBackend(t)
			defer func() {
				if err := be.Close(); err != nil {
					t.Error(err)
				}
			}()
			tt.fn(t, be)
		})
	}
}

func save(t *testing.T, be backend.Backend, ft backend.FileType, data []byte) backend.Handle {
	t.Helper()
	h := backend.Handle{Type: ft, Name: name(data)}
	if err := be.Save(context.Background(), h, data); err != nil {
		t.Fatalf("Save(%v): %v", h, err)
	}
	return h
}

func testSaveLoad(t *testing.T, be backend.Backend) {
	ctx := context.Background()
	for _, size := range []int{0, 1, 4096, 1<<20 + 17} {
		for _, ft := range []backend.FileType{backend.Key, backend.Pack, backend.Index, backend.Snapshot, backend.Lock, backend.Record} {
			data := random(t, size)
			h := save(t, be, ft, data)
			got, err := backend.ReadAll(ctx, be, h, 0, 0)
			if err != nil {
				t.Fatalf("ReadAll(%v): %v", h, err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("ReadAll(%v) returned %d different bytes, want %d", h, len(got), len(data))
			}
			fi, err := be.Stat(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size != int64(size) || fi.Name != h.Name {
				t.Errorf("Stat(%v) = %+v, want size %d", h, fi, size)
			}
		}
	}
}

func testRangeLoad(t *testing.T, be backend.Backend) {
	ctx := context.Background()
	data := random(t, 100000)
	h := save(t, be, backend.Pack, data)
	for _, r := range []struct{ off, n int64 }{{0, 1}, {0, 100000}, {99999, 1}, {12345, 5000}, {50000, 0}} {
		got, err := backend.ReadAll(ctx, be, h, r.off, r.n)
		if err != nil {
			t.Fatalf("ReadAll(%d, %d): %v", r.off, r.n, err)
		}
		want := data[r.off:]
		if r.n > 0 {
			want = want[:r.n]
		}
		if !bytes.Equal(got, want) {
			t.Errorf("ReadAll(%d, %d) returned wrong bytes", r.off, r.n)
		}
	}
	// A range past the end yields fewer bytes, which ReadAll reports.
	if _, err := backend.ReadAll(ctx, be, h, 99990, 20); err == nil {
		t.Error("ReadAll past the end succeeded")
	}
}

func testNotExist(t *testing.T, be backend.Backend) {
	ctx := context.Background()
	h := backend.Handle{Type: backend.Snapshot, Name: name([]byte("missing"))}
	if _, err := be.Stat(ctx, h); !errors.Is(err, backend.ErrNotExist) {
		t.Errorf("Stat: %v, want ErrNotExist", err)
	}
	if rd, err := be.Load(ctx, h, 0, 0); !errors.Is(err, backend.ErrNotExist) {
		if err == nil {
			_ = rd.Close()
		}
		t.Errorf("Load: %v, want ErrNotExist", err)
	}
	if err := be.Remove(ctx, h); !errors.Is(err, backend.ErrNotExist) {
		t.Errorf("Remove: %v, want ErrNotExist", err)
	}
	if _, err := be.Stat(ctx, backend.Handle{Type: backend.Config}); !errors.Is(err, backend.ErrNotExist) {
		t.Errorf("Stat(config): %v, want ErrNotExist", err)
	}
}

func testList(t *testing.T, be backend.Backend) {
	ctx := context.Background()
	want := map[backend.FileType][]string{}
	for i := 0; i < 40; i++ {
		ft := []backend.FileType{backend.Pack, backend.Index, backend.Snapshot}[i%3]
		h := save(t, be, ft, random(t, i+1))
		want[ft] = append(want[ft], h.Name)
	}
	for _, ft := range backend.FileTypes {
		got, err := backend.Names(ctx, be, ft)
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(got)
		w := want[ft]
		sort.Strings(w)
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("List(%v) = %v, want %v", ft, got, w)
		}
	}
	// Every file listed says where it is: for files saved through the
	// backend, the layout's path.
	for _, ft := range backend.FileTypes {
		if err := be.List(ctx, ft, func(fi backend.FileInfo) error {
			if want := (backend.Handle{Type: ft, Name: fi.Name}).Path(); fi.Path != want {
				t.Errorf("List(%v): %s listed at %q, want %q", ft, fi.Name, fi.Path, want)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	stop := errors.New("stop")
	if err := be.List(ctx, backend.Pack, func(backend.FileInfo) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("List with failing callback: %v, want the callback's error", err)
	}
}

func testRemove(t *testing.T, be backend.Backend) {
	ctx := context.Background()
	h := save(t, be, backend.Lock, random(t, 10))
	if err := be.Remove(ctx, h); err != nil {
		t.Fatal(err)
	}
	if _, err := be.Stat(ctx, h); !errors.Is(err, backend.ErrNotExist) {
		t.Errorf("Stat after Remove: %v, want ErrNotExist", err)
	}
	names, err := backend.Names(ctx, be, backend.Lock)
	if err != nil || len(names) != 0 {
		t.Errorf("List after Remove = %v, %v; want nothing", names, err)
	}
}

func testReplace(t *testing.T, be backend.Backend) {
	ctx := context.Background()
	h := backend.Handle{Type: backend.Config}
	for _, data := range [][]byte{[]byte("first"), []byte("second, longer")} {
		if err := be.Save(ctx, h, data); err != nil {
			t.Fatal(err)
		}
		got, err := backend.ReadAll(ctx, be, h, 0, 0)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("after replace: %q, %v; want %q", got, err, data)
		}
	}
}

func testConcurrent(t *testing.T, be backend.Backend) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			data := bytes.Repeat([]byte{byte(i)}, 1000+i)
			h := backend.Handle{Type: backend.Pack, Name: name(data)}
			if err := be.Save(ctx, h, data); err != nil {
				errs <- err
				return
			}
			rd, err := be.Load(ctx, h, 0, 0)
			if err != nil {
				errs <- err
				return
			}
			got, err := io.ReadAll(rd)
			_ = rd.Close()
			if err != nil || !bytes.Equal(got, data) {
				errs <- fmt.Errorf("concurrent read-back of %v failed: %v", h, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testConfig(t *testing.T, be backend.Backend) {
	ctx := context.Background()
	names, err := backend.Names(ctx, be, backend.Config)
	if err != nil || len(names) != 0 {
		t.Fatalf("List(config) on empty backend = %v, %v", names, err)
	}
	if err := be.Save(ctx, backend.Handle{Type: backend.Config}, []byte("cfg")); err != nil {
		t.Fatal(err)
	}
	fi, err := be.Stat(ctx, backend.Handle{Type: backend.Config})
	if err != nil || fi.Size != 3 {
		t.Errorf("Stat(config) = %+v, %v", fi, err)
	}
}
