package assurance

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/routine"
	"github.com/cairn-backup/cairn/schedule"
)

// Facts gathers what an audit, a status screen or a runbook needs about a
// source: each target's snapshots, the drills recorded in the targets,
// and the state file. automation says what runs the source on schedule.
func GatherFacts(ctx context.Context, r *routine.Runner, name string, records Records, automation string) Facts {
	src := r.Config.Sources[name]
	rn := r.Begin(ctx, name)
	f := Facts{Automation: automation}
	for _, tn := range src.Targets {
		t := r.Config.Repositories[tn]
		tf := TargetFacts{Name: tn, URL: t.URL, Offsite: offsite(src, t)}
		snaps, err := rn.Snapshots(t)
		switch {
		case err != nil:
			tf.Error = err.Error()
		case len(snaps) > 0:
			tf.Latest, tf.Snapshots = snaps[len(snaps)-1].Time, len(snaps)
		}
		f.Targets = append(f.Targets, tf)
		if err == nil {
			ds, err := Drills(ctx, records, t, name)
			if err == nil {
				f.Drills = append(f.Drills, ds...)
			}
			if im, err := records.Immutability(ctx, t); err == nil {
				tf := &f.Targets[len(f.Targets)-1]
				if im.Lock.Enabled() {
					tf.ObjectLock, tf.LockPeriod = im.Lock.Mode, im.Lock.Period.String()
				}
				can := im.CanDelete
				tf.BackupCanDelete, tf.BackupCanBypass = &can, im.CanBypass
				tf.Protection, tf.LockWeak = im.Kind(), im.Weak
			}
		}
	}
	sort.Slice(f.Drills, func(i, j int) bool { return f.Drills[i].Time.Before(f.Drills[j].Time) })
	st, err := r.Store.Load(name)
	if err != nil {
		st = &routine.State{}
	}
	f.State = st
	return f
}

// offsite reports whether a target keeps the source's data away from the
// source itself: S3, or a local path on another filesystem than every
// path of the source. A local target of a dump command's source does not
// count, since where the database lives is unknown.
func offsite(src *config.Source, t *config.Repository) bool {
	path, local := t.Local()
	if !local {
		return true
	}
	repoDev, ok := device(path)
	if !ok {
		return false
	}
	paths := src.Paths
	switch kind, arg := src.Database(); kind {
	case "command":
		return false
	case "sqlite":
		paths = []string{arg}
	}
	for _, p := range paths {
		if dev, ok := device(p); !ok || dev == repoDev {
			return false
		}
	}
	return true
}

// Automation says what runs a source on schedule, given the installed
// systemd timers and crontab lines, and when the daemon was last seen.
func Automation(src *config.Source, timers map[string]bool, crontab string, daemonSeen, now time.Time) string {
	switch {
	case timers["cairn-"+src.Name+".timer"]:
		return "systemd"
	case strings.Contains(schedule.CrontabBlock(crontab), " run "+src.Name+" "):
		return "cron"
	case src.Schedule != "" && now.Sub(daemonSeen) < 5*time.Minute:
		return "daemon"
	}
	return ""
}
