package schedule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/routine"
	"github.com/robfig/cron/v3"
)

// Clock is the daemon's view of time, injected so tests never sleep.
type Clock interface {
	Now() time.Time
	// At returns a channel that receives once time t has come (at once
	// if it has). An absolute time, not a duration: time that passes
	// between reading Now and asking to wait is not waited twice.
	At(t time.Time) <-chan time.Time
}

// RealClock is the system clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// At implements Clock.
func (RealClock) At(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }

// Daemon runs jobs on their schedules: a job whose next time after its
// last run has passed runs at once, so runs missed while the machine was
// down are made up (once) at start-up. One run at a time per source.
type Daemon struct {
	Config *config.Config
	Store  routine.StateStore
	Clock  Clock
	// RunJob runs one job (a source's run or drill) and returns its status.
	RunJob   func(ctx context.Context, j Job) string
	Notifier routine.Notifier
	Log      io.Writer
	// MaxWait bounds each sleep, so RPO alerts are timely (default 1m).
	MaxWait time.Duration

	mu       sync.Mutex      // guards running
	running  map[string]bool // source names with a job in progress
	started  time.Time
	finished chan struct{} // a job ended: its next time is due for a look
}

// Serve runs until ctx is cancelled (SIGTERM), then waits for the jobs in
// progress, which are interrupted cleanly, and returns ctx's error (the
// command exits 130, as every interrupted command does).
func (d *Daemon) Serve(ctx context.Context) error {
	d.running, d.started, d.finished = map[string]bool{}, d.Clock.Now(), make(chan struct{}, 1)
	if d.MaxWait == 0 {
		d.MaxWait = time.Minute
	}
	jobs := Jobs(d.Config)
	scheds := make([]cron.Schedule, len(jobs))
	for i, j := range jobs {
		s, err := config.ParseSchedule(j.Schedule)
		if err != nil {
			return err
		}
		scheds[i] = s
	}
	d.logf("daemon: %d scheduled jobs\n", len(jobs))
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		now := d.Clock.Now()
		wait := d.MaxWait
		for i, j := range jobs {
			next, err := d.next(j, scheds[i])
			if err != nil {
				d.logf("daemon: %v\n", err)
				continue
			}
			if !next.After(now) && d.claim(j.Source) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() {
						d.release(j.Source)
						select { // wake the loop; one pending wake-up is enough
						case d.finished <- struct{}{}:
						default:
						}
					}()
					d.logf("daemon: starting %s of %s (due %s)\n", j.What, j.Source, next.Format(time.RFC3339))
					status := d.RunJob(ctx, j)
					d.logf("daemon: %s of %s: %s\n", j.What, j.Source, status)
				}()
				continue
			}
			wait = min(wait, max(next.Sub(now), time.Second))
		}
		d.checkRPO(ctx, now)
		if err := d.Store.Heartbeat(now); err != nil {
			d.logf("daemon: warning: %v\n", err)
		}
		select {
		case <-ctx.Done():
			d.logf("daemon: stopping; waiting for jobs in progress\n")
			return ctx.Err() // after the jobs in progress (deferred Wait)
		case <-d.Clock.At(now.Add(wait)):
		case <-d.finished:
		}
	}
}

// next returns when a job is next due: its schedule's next time after its
// last run, or now for a job that never ran.
func (d *Daemon) next(j Job, s cron.Schedule) (time.Time, error) {
	st, err := d.Store.Load(j.Source)
	var damaged *routine.DamagedStateError
	if errors.As(err, &damaged) {
		d.logf("daemon: warning: %v\n", err)
	} else if err != nil {
		return time.Time{}, err
	}
	last := st.LastRun
	if j.What == "restore drill" {
		last = st.LastDrill
	}
	if last.IsZero() {
		return d.started, nil
	}
	return s.Next(last), nil
}

func (d *Daemon) claim(source string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running[source] {
		return false
	}
	d.running[source] = true
	return true
}

func (d *Daemon) release(source string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.running, source)
}

// checkRPO sends one rpo-missed notification per missed window.
func (d *Daemon) checkRPO(ctx context.Context, now time.Time) {
	for _, name := range d.Config.SourceNames() {
		if d.claim(name) { // a run in progress owns the state file
			d.checkSourceRPO(ctx, name, now)
			d.release(name)
		}
	}
}

func (d *Daemon) checkSourceRPO(ctx context.Context, name string, now time.Time) {
	src := d.Config.Sources[name]
	// A run in another process (cairn run, a timer) owns the state file
	// while it holds the source's run lock: check again on the next tick.
	unlock, err := d.Store.Lock(name)
	if err != nil {
		return
	}
	defer unlock()
	st, err := d.Store.Load(name)
	var damaged *routine.DamagedStateError
	if err != nil && !errors.As(err, &damaged) {
		return
	}
	since := st.LastSuccess
	if since.IsZero() {
		since = d.started
	}
	if now.Sub(since) <= src.RPODuration || (!st.RPOAlerted.IsZero() && st.RPOAlerted.Equal(since)) {
		return
	}
	msg := fmt.Sprintf("no successful backup of %s since %s (RPO %s)", name, since.Format(time.RFC3339), src.RPO)
	if st.LastSuccess.IsZero() {
		msg = fmt.Sprintf("no successful backup of %s yet (RPO %s)", name, src.RPO)
	}
	d.logf("daemon: %s\n", msg)
	if err := d.Notifier.Send(ctx, d.Config.NotifyFor(src), routine.Event{Event: config.EventRPOMissed, Source: name, Time: now, Message: msg}); err != nil {
		d.logf("daemon: warning: %v\n", err)
	}
	if err := d.Store.Update(name, func(st *routine.State) { st.RPOAlerted = since }); err != nil {
		d.logf("daemon: warning: %v\n", err)
	}
}

func (d *Daemon) logf(format string, args ...any) {
	if d.Log != nil {
		fmt.Fprintf(d.Log, "%s %s", d.Clock.Now().Format(time.RFC3339), fmt.Sprintf(format, args...))
	}
}
