package routine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// State is what cairn remembers about a source between runs, kept as
// JSON in the state directory. It holds no secrets.
type State struct {
	LastRun       time.Time `json:"last_run,omitzero"`
	LastStatus    string    `json:"last_status,omitempty"`
	LastError     string    `json:"last_error,omitempty"`
	LastSuccess   time.Time `json:"last_success,omitzero"`
	LastSnapshot  string    `json:"last_snapshot,omitempty"`
	LastDuration  float64   `json:"last_duration_seconds,omitempty"`
	LastDataAdded uint64    `json:"last_data_added,omitempty"`
	LastFiles     uint64    `json:"last_files,omitempty"`
	// Per target repository name.
	LastRetention map[string]time.Time `json:"last_retention,omitempty"`
	LastCheck     map[string]time.Time `json:"last_check,omitempty"`
	LastCheckOK   map[string]bool      `json:"last_check_ok,omitempty"`
	// Coverage is the share of packs rolling checks have verified.
	Coverage map[string]float64 `json:"rolling_coverage,omitempty"`
	RepoSize map[string]uint64  `json:"repository_size,omitempty"`
	// RPOAlerted is the last success an RPO alert was sent for, so that
	// one missed window alerts once.
	RPOAlerted time.Time `json:"rpo_alerted,omitzero"`
	// LastDrill is the time of the last drill, and LastDrillStatus how
	// it went ("pass" or "fail").
	LastDrill       time.Time `json:"last_drill,omitzero"`
	LastDrillStatus string    `json:"last_drill_status,omitempty"`
	// History has a point per run, oldest first, the last MaxHistory
	// kept: what the console plots.
	History []RunPoint `json:"history,omitempty"`
}

// MaxHistory is how many runs a state keeps in History.
const MaxHistory = 500

// RunPoint is one run in a source's history.
type RunPoint struct {
	Time      time.Time         `json:"time"`
	Status    string            `json:"status"`
	Duration  float64           `json:"backup_seconds,omitempty"`
	DataAdded uint64            `json:"data_added,omitempty"`
	RepoSize  map[string]uint64 `json:"repository_size,omitempty"`
}

// StateStore reads and writes source states in a directory.
type StateStore struct {
	Dir string
}

func (s StateStore) path(source string) string {
	return filepath.Join(s.Dir, source+".json")
}

// DamagedStateError says a state file could not be decoded. Load moves
// the file aside (to MovedTo) and returns an empty state with it: losing
// the state costs only an early prune or check (design §12a), while
// refusing to run would stop the source's backups.
type DamagedStateError struct {
	Path, MovedTo string
	Err           error
}

// Error says what happened, in one sentence.
func (e *DamagedStateError) Error() string {
	return fmt.Sprintf("state file %s was damaged (%v); it was moved to %s and the run starts with a fresh state", e.Path, e.Err, e.MovedTo)
}

// Unwrap returns the decoding error.
func (e *DamagedStateError) Unwrap() error { return e.Err }

// Load returns a source's state; a missing file is an empty state. A
// damaged file yields an empty state and a *DamagedStateError, which
// callers report as a warning.
func (s StateStore) Load(source string) (*State, error) {
	st := &State{}
	b, err := os.ReadFile(s.path(source))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", source, err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		moved := fmt.Sprintf("%s.damaged-%d", s.path(source), time.Now().Unix())
		if rerr := os.Rename(s.path(source), moved); rerr != nil {
			moved = "(could not be moved: " + rerr.Error() + ")"
		}
		return &State{}, &DamagedStateError{Path: s.path(source), MovedTo: moved, Err: err}
	}
	return st, nil
}

// Update changes a source's state under a short lock of its own
// (SOURCE.state.lock, held for the read, fn and the write), so that the
// daemon, a drill and a run that end at the same time never overwrite
// each other's fields.
func (s StateStore) Update(source string, fn func(st *State)) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, source+".state.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("open state lock: %w", err)
	}
	defer f.Close()
	if err := lockFile(f, true); err != nil {
		return fmt.Errorf("take state lock: %w", err)
	}
	st, err := s.Load(source)
	var de *DamagedStateError
	if err != nil && !errors.As(err, &de) {
		return err
	}
	fn(st)
	if serr := s.Save(source, st); serr != nil {
		return serr
	}
	return err // a damaged file, replaced: the caller may warn
}

// Save writes a source's state atomically.
func (s StateStore) Save(source string, st *State) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.Dir, ".state-*")
	if err != nil {
		return fmt.Errorf("save state of %s: %w", source, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save state of %s: %w", source, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state of %s: %w", source, err)
	}
	return os.Rename(tmp.Name(), s.path(source))
}

// errLocked is lockFile's answer when another process holds the lock.
var errLocked = errors.New("locked by another process")

// ErrBusy means another run of the same source holds its run lock.
var ErrBusy = errors.New("another run of this source is in progress")

// Lock takes a source's run lock, so one run at a time per source, also
// across processes. The lock goes with the process: a killed run leaves
// nothing to clean up.
func (s StateStore) Lock(source string) (unlock func(), err error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, source+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open run lock: %w", err)
	}
	if err := lockFile(f, false); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, ErrBusy
		}
		return nil, fmt.Errorf("take run lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// Heartbeat records that the daemon is running.
func (s StateStore) Heartbeat(now time.Time) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	b, _ := json.Marshal(map[string]time.Time{"last_seen": now})
	tmp := filepath.Join(s.Dir, ".daemon.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.Dir, "daemon.json"))
}

// DaemonSeen returns when the daemon last recorded a heartbeat.
func (s StateStore) DaemonSeen() time.Time {
	var hb struct {
		LastSeen time.Time `json:"last_seen"`
	}
	b, err := os.ReadFile(filepath.Join(s.Dir, "daemon.json"))
	if err == nil {
		_ = json.Unmarshal(b, &hb)
	}
	return hb.LastSeen
}
