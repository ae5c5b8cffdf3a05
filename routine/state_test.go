package routine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A damaged state file is moved aside and the source starts afresh; it
// never blocks the source's runs.
func TestDamagedStateIsMovedAside(t *testing.T) {
	store := StateStore{Dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(store.Dir, "app.json"), []byte(`{"last_run": "garbage`), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Load("app")
	var de *DamagedStateError
	if !errors.As(err, &de) || st == nil || !st.LastRun.IsZero() {
		t.Fatalf("Load of a damaged file: %v, %+v", err, st)
	}
	if _, err := os.Stat(de.MovedTo); err != nil || !strings.Contains(de.MovedTo, "app.json.damaged-") {
		t.Errorf("damaged file not kept aside: %q %v", de.MovedTo, err)
	}
	if st, err := store.Load("app"); err != nil || !st.LastRun.IsZero() {
		t.Errorf("second Load: %v", err)
	}
}

// Updates from the daemon, a drill and a run never lose each other's
// fields.
func TestStateUpdatesDoNotOverwriteEachOther(t *testing.T) {
	store := StateStore{Dir: t.TempDir()}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at := now.Add(time.Duration(i) * time.Minute)
			var err error
			switch i % 3 {
			case 0:
				err = store.Update("app", func(st *State) {
					if at.After(st.LastDrill) {
						st.LastDrill = at
					}
				})
			case 1:
				err = store.Update("app", func(st *State) {
					if at.After(st.RPOAlerted) {
						st.RPOAlerted = at
					}
				})
			default:
				err = store.Update("app", func(st *State) {
					if at.After(st.LastRun) {
						st.LastRun = at
					}
				})
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	st, err := store.Load("app")
	if err != nil {
		t.Fatal(err)
	}
	if !st.LastDrill.Equal(now.Add(48*time.Minute)) || !st.RPOAlerted.Equal(now.Add(49*time.Minute)) || !st.LastRun.Equal(now.Add(47*time.Minute)) {
		t.Errorf("lost updates: drill %v, alerted %v, run %v", st.LastDrill, st.RPOAlerted, st.LastRun)
	}

}
