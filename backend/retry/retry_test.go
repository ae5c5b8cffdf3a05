package retry

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/backendtest"
	"github.com/cairn-backup/cairn/backend/faulty"
	"github.com/cairn-backup/cairn/backend/mem"
)

func noSleep(context.Context, time.Duration) error { return nil }

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend { return New(mem.New(), Config{Sleep: noSleep}) })
}

func TestRetriesTransientErrors(t *testing.T) {
	ctx := context.Background()
	inner := mem.New()
	data := bytes.Repeat([]byte("x"), 10000)
	h := backend.Handle{Type: backend.Pack, Name: "abcdef"}
	// Half of all calls fail and short reads happen: retries hide both.
	var waits []time.Duration
	be := New(faulty.New(inner, faulty.Config{Seed: 1, ErrorRate: 0.5, ShortReadRate: 0.3}), Config{
		Attempts: 30, Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }})
	for i := 0; i < 20; i++ {
		if err := be.Save(ctx, h, data); err != nil {
			t.Fatal(err)
		}
		got, err := backend.ReadAll(ctx, be, h, 100, 5000)
		if err != nil || !bytes.Equal(got, data[100:5100]) {
			t.Fatalf("load through faults: %v", err)
		}
	}
	if len(waits) == 0 {
		t.Fatal("nothing was retried")
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] > 10*time.Second+5*time.Second {
			t.Errorf("backoff %v exceeds the maximum", waits[i])
		}
	}
}

func TestGivesUp(t *testing.T) {
	ctx := context.Background()
	calls := 0
	be := New(faulty.New(mem.New(), faulty.Config{ErrorRate: 1}), Config{Attempts: 4, Sleep: func(context.Context, time.Duration) error {
		calls++
		return nil
	}})
	err := be.Save(ctx, backend.Handle{Type: backend.Pack, Name: "abcdef"}, []byte("x"))
	if !errors.Is(err, faulty.ErrInjected) || calls != 3 {
		t.Errorf("after 4 failing attempts: %v, %d waits", err, calls)
	}
	// Not-found is final at once.
	calls = 0
	be = New(mem.New(), Config{Sleep: func(context.Context, time.Duration) error { calls++; return nil }})
	if _, err := be.Stat(ctx, backend.Handle{Type: backend.Pack, Name: "abcdef"}); !errors.Is(err, backend.ErrNotExist) || calls != 0 {
		t.Errorf("not found was retried %d times: %v", calls, err)
	}
	// A listing that failed after reporting files is not repeated.
	be = New(faulty.New(mem.New(), faulty.Config{ListFailAfter: 1}), Config{Sleep: noSleep})
	inner := be.Backend.(*faulty.Backend).Unwrap()
	for _, n := range []string{"aaaa", "bbbb"} {
		_ = inner.Save(ctx, backend.Handle{Type: backend.Pack, Name: n}, []byte(n))
	}
	seen := 0
	if err := be.List(ctx, backend.Pack, func(backend.FileInfo) error { seen++; return nil }); err == nil || seen != 1 {
		t.Errorf("half-failed listing: %v after %d files", err, seen)
	}
}

// A stored file shorter than the range asked is damage: it fails at once
// with ErrTruncated instead of being read ten times with backoff.
func TestTruncatedFileIsNotRetried(t *testing.T) {
	ctx := context.Background()
	inner := mem.New()
	h := backend.Handle{Type: backend.Pack, Name: "abcdef"}
	if err := inner.Save(ctx, h, []byte("only ten b")); err != nil {
		t.Fatal(err)
	}
	waits := 0
	be := New(inner, Config{Attempts: 10, Sleep: func(context.Context, time.Duration) error { waits++; return nil }})
	_, err := backend.ReadAll(ctx, be, h, 4, 100)
	if !errors.Is(err, backend.ErrTruncated) || waits != 0 {
		t.Errorf("short file: %v after %d waits; want ErrTruncated at once", err, waits)
	}
	if !strings.Contains(err.Error(), h.String()) {
		t.Errorf("error %q does not name the file", err)
	}
	// Without the retry wrapper, ReadAll says the same.
	if _, err := backend.ReadAll(ctx, inner, h, 4, 100); !errors.Is(err, backend.ErrTruncated) {
		t.Errorf("short file, no wrapper: %v", err)
	}
}

// creatorBackend fails Create a number of times before it succeeds.
type creatorBackend struct {
	backend.Backend
	fails, calls int
}

func (c *creatorBackend) Create(context.Context) error {
	c.calls++
	if c.calls <= c.fails {
		return errors.New("503 Service Unavailable")
	}
	return nil
}

func TestCreateIsRetried(t *testing.T) {
	inner := &creatorBackend{Backend: mem.New(), fails: 3}
	var notices []string
	be := New(inner, Config{Attempts: 10, Sleep: noSleep, OnRetry: func(op string, _ backend.Handle, err error, _ time.Duration) {
		notices = append(notices, op+": "+err.Error())
	}})
	if err := be.Create(context.Background()); err != nil || inner.calls != 4 || len(notices) != 3 {
		t.Errorf("Create: %v after %d calls, notices %q", err, inner.calls, notices)
	}
	// A backend without Create: nothing to do.
	if err := New(mem.New(), Config{}).Create(context.Background()); err != nil {
		t.Error(err)
	}
}
