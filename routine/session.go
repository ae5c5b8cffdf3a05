package routine

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/config"
)

// Session is one drill, gate or gathering of a source's facts: it runs
// cairn commands and routine steps for the source as a run does, and
// logs as a run logs.
type Session struct{ rn *run }

// Begin starts a session for the named source.
func (r *Runner) Begin(ctx context.Context, name string) *Session {
	return &Session{rn: r.newRun(ctx, name)}
}

// Context is the session's context.
func (s *Session) Context() context.Context { return s.rn.ctx }

// Source is the source the session works on.
func (s *Session) Source() *config.Source { return s.rn.src }

// Runner is the runner that began the session.
func (s *Session) Runner() *Runner { return s.rn.Runner }

// Cairn runs one cairn command; see Executor.
func (s *Session) Cairn(c Command) (Result, error) { return s.rn.cairn(c) }

// Logf writes a line to the runner's log.
func (s *Session) Logf(format string, args ...any) { s.rn.logf(format, args...) }

// Warnf logs err, if not nil, as a warning about the source.
func (s *Session) Warnf(err error) { s.rn.warnf(err) }

// Verify reads every blob of snapshot id (the newest of the source when
// empty) back from t, as the routine's verify step does.
func (s *Session) Verify(t *config.Repository, id string) bool { return s.rn.verify(t, id) }

// FirstError names the first failed step and its message, or is "".
func (s *Session) FirstError() string { return s.rn.firstError() }

// Snapshots lists the source's snapshots in t, oldest first.
func (s *Session) Snapshots(t *config.Repository) ([]SnapInfo, error) { return s.rn.snapshotsOf(t) }

// FindSnapshot returns the source's snapshot in t whose ID starts with id,
// or the newest one for "" or "latest".
func (s *Session) FindSnapshot(t *config.Repository, id string) (SnapInfo, error) {
	return s.rn.findSnapshot(t, id)
}

// SnapInfo is what drills and gates need of a snapshot, as snapshots --json
// prints it.
type SnapInfo struct {
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
	Tree    string    `json:"tree"`
	Summary struct {
		TotalBytes uint64 `json:"total_bytes_processed"`
		TotalFiles uint64 `json:"total_files_processed"`
	} `json:"summary"`
}

// snapshotsOf lists the source's snapshots in t, oldest first.
func (rn *run) snapshotsOf(t *config.Repository) ([]SnapInfo, error) {
	res, err := rn.cairn(Command{Repo: t, Args: []string{"snapshots", "--json", "--tag", rn.src.Tag()}})
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return nil, fmt.Errorf("%s: %s", t.Name, res.Message())
	}
	var snaps []SnapInfo
	if err := json.Unmarshal(res.Stdout, &snaps); err != nil {
		return nil, fmt.Errorf("%s: list snapshots: %w", t.Name, err)
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].Time.Before(snaps[j].Time) })
	return snaps, nil
}

func (rn *run) findSnapshot(t *config.Repository, id string) (SnapInfo, error) {
	snaps, err := rn.snapshotsOf(t)
	if err != nil {
		return SnapInfo{}, err
	}
	if len(snaps) == 0 {
		return SnapInfo{}, fmt.Errorf("no snapshot of %s in %s to drill", rn.src.Name, t.Name)
	}
	if id == "" || id == "latest" {
		return snaps[len(snaps)-1], nil
	}
	var found []SnapInfo
	for _, s := range snaps {
		if strings.HasPrefix(s.ID, id) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		return SnapInfo{}, fmt.Errorf("snapshot %q matches %d snapshots of %s in %s", id, len(found), rn.src.Name, t.Name)
	}
	return found[0], nil
}
