package routine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/config"
)

// Step statuses, from best to worst.
const (
	StatusOK      = "ok"
	StatusSkipped = "skipped"
	StatusWarning = "warning"
	StatusFailed  = "failed"
)

func worse(a, b string) string {
	rank := map[string]int{StatusOK: 0, StatusSkipped: 0, StatusWarning: 1, StatusFailed: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// Step is one logged step of a run.
type Step struct {
	Name     string  `json:"name"`
	Status   string  `json:"status"`
	Message  string  `json:"message,omitempty"`
	Duration float64 `json:"duration_seconds"`
	// Details is the summary the step's cairn command printed (a type of
	// package message, as JSON), when there is one.
	Details json.RawMessage `json:"details,omitempty"`
}

// Report is the outcome of one run of a source.
type Report struct {
	Source     string    `json:"source"`
	Start      time.Time `json:"start"`
	Duration   float64   `json:"duration_seconds"`
	Status     string    `json:"status"`
	SnapshotID string    `json:"snapshot_id,omitempty"`
	Steps      []Step    `json:"steps"`
}

// ExitCode is the run's exit code: 0 when every step succeeded, 3 when
// the worst was a warning (such as unreadable files), else 1.
func (r *Report) ExitCode() int {
	switch r.Status {
	case StatusOK:
		return 0
	case StatusWarning:
		return 3
	}
	return 1
}

// Runner carries out the whole routine of a source: run lock, hooks,
// backup, copies, verification, retention, rolling check, notifications,
// state and metrics.
type Runner struct {
	Config   *config.Config
	Exec     Executor
	Store    StateStore
	Notifier Notifier
	Now      func() time.Time
	// Log receives one concise line per step.
	Log io.Writer
}

// run is the state of one source's run.
type run struct {
	*Runner
	ctx    context.Context
	src    *config.Source
	st     *State
	rep    *Report
	events map[string]string // event -> message
}

// newRun starts the state of one run, drill, gate or gathering of a source.
func (r *Runner) newRun(ctx context.Context, name string) *run {
	return &run{Runner: r, ctx: ctx, src: r.Config.Sources[name], events: map[string]string{},
		rep: &Report{Source: name, Start: r.Now(), Status: StatusOK}}
}

// Run runs the routine for the named source.
func (r *Runner) Run(ctx context.Context, name string) *Report {
	rn := r.newRun(ctx, name)
	src := rn.src
	unlock, err := r.Store.Lock(name)
	if err != nil {
		rn.step("lock", StatusFailed, err.Error(), time.Now(), nil)
		return rn.rep
	}
	defer unlock()
	var damaged *DamagedStateError
	if rn.st, err = r.Store.Load(name); errors.As(err, &damaged) {
		rn.warnf(err) // a fresh state: the run goes on
	} else if err != nil {
		rn.step("state", StatusFailed, err.Error(), time.Now(), nil)
		return rn.rep
	}
	rn.warnf(r.Notifier.Ping(ctx, r.Config.NotifyFor(src).Ping, "start", ""))
	if rn.hooks("before", src.Hooks.Before) {
		rn.routine()
	}
	rn.finish()
	return rn.rep
}

// routine is the part of a run that the before hooks guard.
func (rn *run) routine() {
	primary := rn.Config.Primary(rn.src)
	backedUp := rn.backup(primary)
	verified := map[string]bool{}
	if backedUp && rn.retentionDue(primary) {
		verified[primary.Name] = rn.verify(primary, rn.rep.SnapshotID)
	}
	for _, c := range rn.Config.Copies(rn.src) {
		copied := rn.copy(primary, c)
		if copied && backedUp && rn.retentionDue(c) {
			verified[c.Name] = rn.verify(c, "")
		}
	}
	for _, t := range rn.targets() {
		if verified[t.Name] {
			rn.retention(t)
		}
	}
	for _, t := range rn.targets() {
		rn.check(t)
	}
}

func (rn *run) targets() []*config.Repository {
	return append([]*config.Repository{rn.Config.Primary(rn.src)}, rn.Config.Copies(rn.src)...)
}

// step records a step and logs it.
func (rn *run) step(name, status, msg string, start time.Time, details any) {
	switch {
	case status == StatusFailed && msg == errNotStarted.Error():
		status = StatusSkipped
	case status == StatusFailed && strings.HasPrefix(msg, errInterrupted.Error()):
		msg = errInterrupted.Error() // not Go's "context canceled"
	}
	s := Step{Name: name, Status: status, Message: msg, Duration: time.Since(start).Seconds()}
	if details != nil {
		s.Details, _ = json.Marshal(details)
	}
	rn.rep.Steps = append(rn.rep.Steps, s)
	rn.rep.Status = worse(rn.rep.Status, status)
	line := fmt.Sprintf("%s: %s: %s", rn.rep.Source, name, status)
	if msg != "" {
		line += ": " + msg
	}
	rn.logf("%s (%.1fs)\n", line, s.Duration)
}

func (rn *run) logf(format string, args ...any) {
	if rn.Log != nil {
		fmt.Fprintf(rn.Log, format, args...)
	}
}

func (rn *run) warnf(err error) {
	if err != nil {
		rn.logf("%s: warning: %v\n", rn.rep.Source, err)
	}
}

// cairn runs one command and returns its result; a command that could
// not be started at all counts as failed.
func (rn *run) cairn(c Command) (Result, error) {
	if rn.ctx.Err() != nil {
		return Result{}, errNotStarted
	}
	res, err := rn.Exec.Cairn(rn.ctx, c)
	if rn.ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", errInterrupted, rn.ctx.Err())
	}
	return res, err
}

// errInterrupted is a step's error when the run was stopped (Ctrl-C,
// SIGTERM) while it ran; errNotStarted when it was stopped before the
// step began, which is then skipped, not failed.
var (
	errInterrupted = errors.New("interrupted (Ctrl-C or SIGTERM)")
	errNotStarted  = errors.New("not run: the run was interrupted")
)

// hooks runs a list of hooks; it reports whether all succeeded.
func (rn *run) hooks(kind string, cmds []string) bool {
	ok := true
	for _, c := range cmds {
		start := time.Now()
		he := HookEnv{Source: rn.src.Name, Hook: kind, SnapshotID: rn.rep.SnapshotID, Status: rn.rep.Status, Error: rn.firstError(),
			Dir: rn.Config.Dir()}
		out, err := RunHook(rn.ctx, c, he, config.Duration(rn.src.Hooks.Timeout), rn.src.Hooks.PassSecrets)
		if out != "" && rn.Log != nil {
			rn.logf("%s", indent(out))
		}
		if err != nil {
			rn.step("hook "+kind, StatusFailed, err.Error(), start, nil)
			ok = false
			if kind == "before" {
				return false // a failing before hook aborts the run
			}
			continue
		}
		rn.step("hook "+kind, StatusOK, c, start, nil)
	}
	return ok
}

func (rn *run) firstError() string { return rn.rep.FirstError() }

// FirstError names the first failed step and its message, or is "".
func (r *Report) FirstError() string {
	for _, s := range r.Steps {
		if s.Status == StatusFailed {
			return s.Name + ": " + s.Message
		}
	}
	return ""
}

func indent(s string) string {
	out := ""
	for _, l := range SplitLines(s) {
		out += "    " + l + "\n"
	}
	return out
}

// finish runs the closing hooks, saves state, notifies and writes metrics.
func (rn *run) finish() {
	if rn.rep.Status == StatusFailed {
		rn.hooks("after-failure", rn.src.Hooks.AfterFailure)
	} else {
		rn.hooks("after-success", rn.src.Hooks.AfterSuccess)
	}
	rn.hooks("finally", rn.src.Hooks.Finally)
	now := rn.Now()
	rn.rep.Duration = time.Since(rn.rep.Start).Seconds()
	if now.After(rn.rep.Start) {
		rn.rep.Duration = now.Sub(rn.rep.Start).Seconds()
	}
	rn.st.LastRun, rn.st.LastStatus, rn.st.LastError = rn.rep.Start, rn.rep.Status, rn.firstError()
	if rn.rep.Status != StatusFailed {
		rn.st.LastSuccess = rn.rep.Start
	}
	// Fields others write meanwhile (the daemon's RPO alert, a drill's
	// time) are kept: the state is merged under the state lock.
	point := RunPoint{Time: rn.rep.Start, Status: rn.rep.Status, RepoSize: map[string]uint64{}}
	if rn.rep.SnapshotID != "" {
		point.Duration, point.DataAdded = rn.st.LastDuration, rn.st.LastDataAdded
	}
	for k, v := range rn.st.RepoSize {
		point.RepoSize[k] = v
	}
	rn.warnf(rn.Store.Update(rn.src.Name, func(cur *State) {
		drill, drillStatus, alerted := cur.LastDrill, cur.LastDrillStatus, cur.RPOAlerted
		history := append(cur.History, point)
		*cur = *rn.st
		cur.History = history[max(0, len(history)-MaxHistory):]
		if drill.After(cur.LastDrill) {
			cur.LastDrill, cur.LastDrillStatus = drill, drillStatus
		}
		if alerted.After(cur.RPOAlerted) {
			cur.RPOAlerted = alerted
		}
	}))
	rn.notify()
	rn.warnf(WriteMetrics(rn.Config, rn.Store, now))
	if rn.ctx.Err() != nil {
		rn.logf("%s: interrupted after %.1fs (%d steps)\n", rn.src.Name, rn.rep.Duration, len(rn.rep.Steps))
		return
	}
	rn.logf("%s: %s in %.1fs (%d steps)\n", rn.src.Name, rn.rep.Status, rn.rep.Duration, len(rn.rep.Steps))
}

func (rn *run) notify() {
	cfg := rn.Config.NotifyFor(rn.src)
	host, _ := os.Hostname()
	if rn.Config.Host != "" {
		host = rn.Config.Host
	}
	ev := Event{Source: rn.src.Name, Host: host, Time: rn.rep.Start, Status: rn.rep.Status,
		SnapshotID: rn.rep.SnapshotID, Steps: rn.rep.Steps}
	main := config.EventSuccess
	if rn.rep.Status == StatusFailed {
		main, ev.Message = config.EventFailure, rn.firstError()
	}
	ev.Event = main
	rn.warnf(rn.Notifier.Send(rn.ctx, cfg, ev))
	for _, e := range []string{config.EventCheckFailed, config.EventStorageFull} {
		if msg, ok := rn.events[e]; ok {
			ev.Event, ev.Message = e, msg
			rn.warnf(rn.Notifier.Send(rn.ctx, cfg, ev))
		}
	}
	kind := "success"
	if rn.rep.Status == StatusFailed {
		kind = "fail"
	}
	rn.warnf(rn.Notifier.Ping(rn.ctx, cfg.Ping, kind, rn.rep.Status+" "+rn.firstError()))
}
