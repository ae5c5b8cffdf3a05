package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/routine"
)

// hasEvent reports whether an event of the kind was received.
func hasEvent(mu *sync.Mutex, events *[]routine.Event, kind string) bool {
	mu.Lock()
	defer mu.Unlock()
	for _, e := range *events {
		if e.Event == kind {
			return true
		}
	}
	return false
}

// fakeClock advances only when the test says so.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	waiting chan struct{} // signalled when someone waits
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t time.Time) *fakeClock {
	return &fakeClock{now: t, waiting: make(chan struct{}, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) At(t time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if !t.After(c.now) {
		ch <- c.now
	} else {
		c.waiters = append(c.waiters, waiter{t, ch})
	}
	select {
	case c.waiting <- struct{}{}:
	default: // the test reads these only to pace itself
	}
	return ch
}

// advance moves time forward and wakes the waiters that are due.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	var keep []waiter
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

func testConfig(t *testing.T, webhook string) *config.Config {
	t.Helper()
	cfg := `[repositories.r]
url = "/tmp/unused"
[notify]
webhook = "` + webhook + `"
[sources.hourly]
paths = ["/data"]
targets = ["r"]
schedule = "0 * * * *"
rpo = "90m"
[sources.daily]
paths = ["/data"]
targets = ["r"]
schedule = "30 2 * * *"
rpo = "2d"
`
	c, err := config.Parse("test.toml", []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	c.StateDir = t.TempDir()
	return c
}

func TestDaemonSchedulesUnderFakeClock(t *testing.T) {
	var mu sync.Mutex
	var events []routine.Event
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev routine.Event
		json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}))
	defer srv.Close()
	cfg := testConfig(t, srv.URL)
	store := routine.StateStore{Dir: cfg.StateDir}
	start := time.Date(2026, 3, 2, 10, 20, 0, 0, time.UTC)
	clock := newFakeClock(start)
	// hourly last ran at 07:00 (missed 08:00..10:00 while down); daily ran
	// last night, so it is not due.
	store.Save("hourly", &routine.State{LastRun: start.Add(-3*time.Hour - 20*time.Minute), LastSuccess: start.Add(-3*time.Hour - 20*time.Minute)})
	store.Save("daily", &routine.State{LastRun: start.Add(-7*time.Hour - 50*time.Minute), LastSuccess: start.Add(-7*time.Hour - 50*time.Minute)})

	runs := make(chan string, 10)
	var succeed sync.Map
	d := &Daemon{Config: cfg, Store: store, Clock: clock, MaxWait: 20 * time.Minute,
		RunJob: func(ctx context.Context, j Job) string {
			st, _ := store.Load(j.Source)
			st.LastRun = clock.Now()
			if _, ok := succeed.Load(j.Source); ok {
				st.LastSuccess = clock.Now()
			}
			store.Save(j.Source, st)
			runs <- j.Source + "@" + clock.Now().Format("15:04")
			return "ok"
		}}
	succeed.Store("daily", true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Serve(ctx) }()

	expect := func(want string) {
		t.Helper()
		select {
		case got := <-runs:
			if got != want {
				t.Fatalf("run %s, want %s", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no run; want %s", want)
		}
	}
	waitIdle := func() {
		t.Helper()
		select {
		case <-clock.waiting:
		case <-time.After(10 * time.Second):
			t.Fatal("the daemon does not wait")
		}
	}
	// The missed hourly run happens once at start-up, not three times.
	expect("hourly@10:20")
	waitIdle()
	// hourly's runs fail (no success since 07:00, RPO 90m): one
	// rpo-missed alert, however long it lasts. The test moves on once it
	// has come (the daemon may see the window at 10:40, or when the 10:20
	// run ends).
	clock.advance(20 * time.Minute) // 10:40
	alerted := time.After(10 * time.Second)
	for !hasEvent(&mu, &events, config.EventRPOMissed) {
		select {
		case <-clock.waiting:
		case <-alerted:
			t.Fatal("no rpo-missed alert at 10:40")
		}
	}
	clock.advance(20 * time.Minute) // 11:00
	expect("hourly@11:00")
	waitIdle()
	succeed.Store("hourly", true)
	clock.advance(time.Hour) // 12:00
	expect("hourly@12:00")
	waitIdle()
	clock.advance(14*time.Hour + 30*time.Minute) // 02:30 next day: both
	got := map[string]bool{}
	for i := 0; i < 2; i++ {
		select {
		case r := <-runs:
			got[r] = true
		case <-time.After(10 * time.Second):
			t.Fatal("missing runs at 02:30")
		}
	}
	if !got["daily@02:30"] || !got["hourly@02:30"] {
		t.Errorf("runs at 02:30: %v", got)
	}
	waitIdle()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve after its context ended: %v, want context.Canceled (exit 130)", err)
	}
	mu.Lock()
	defer mu.Unlock()
	rpo := 0
	for _, e := range events {
		if e.Event == config.EventRPOMissed {
			rpo++
			if e.Source != "hourly" {
				t.Errorf("rpo-missed for %s", e.Source)
			}
		}
	}
	if rpo != 1 {
		t.Errorf("%d rpo-missed alerts, want exactly 1: %+v", rpo, events)
	}
}

// The daemon's RPO check leaves a source alone while another process (a
// cairn run) holds its run lock: the run owns the state file then.
func TestDaemonRPOCheckRespectsRunLock(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	cfg := testConfig(t, "http://127.0.0.1:1/unused")
	store := routine.StateStore{Dir: cfg.StateDir}
	unlock, err := store.Lock("hourly")
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{Config: cfg, Store: store, Clock: newFakeClock(now), started: now.Add(-24 * time.Hour)}
	d.checkSourceRPO(t.Context(), "hourly", now)
	if _, err := os.Stat(filepath.Join(store.Dir, "hourly.json")); !os.IsNotExist(err) {
		t.Errorf("the daemon wrote the state of a source whose run is in progress: %v", err)
	}
	unlock()
}
