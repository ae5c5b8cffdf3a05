package assurance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/routine"
	"github.com/cairn-backup/cairn/schedule"
)

// AutomationPlaces say where, besides the usual places, installed
// schedules are looked for.
type AutomationPlaces struct {
	UnitDir     string // another directory of systemd units
	CrontabFile string // a crontab file read instead of "crontab -l"
}

// DetectAutomation returns what runs each source of c on schedule: a
// systemd timer (system, user, or places.UnitDir), a crontab entry, or a
// running daemon; "" for none.
func DetectAutomation(c *config.Config, places AutomationPlaces) func(*config.Source) string {
	timers := map[string]bool{}
	dirs := []string{"/etc/systemd/system"}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".config", "systemd", "user"))
	}
	if places.UnitDir != "" {
		dirs = append(dirs, places.UnitDir)
	}
	for _, d := range dirs {
		units, _ := schedule.InstalledUnits(d)
		for _, u := range units {
			timers[u] = true
		}
	}
	crontab := schedule.ReadCrontab(places.CrontabFile)
	seen := routine.StateStore{Dir: c.StateDir}.DaemonSeen()
	now := time.Now()
	return func(s *config.Source) string { return Automation(s, timers, crontab, seen, now) }
}

// SourceNames returns the sources named (all of c's when none are), or
// an error naming one c does not have.
func SourceNames(c *config.Config, names []string) ([]string, error) {
	if len(names) == 0 {
		return c.SourceNames(), nil
	}
	for _, n := range names {
		if _, ok := c.Sources[n]; !ok {
			return nil, fmt.Errorf("no source %q in %s", n, c.File)
		}
	}
	return names, nil
}

// SourceReport is one source with its gathered facts and its audit.
type SourceReport struct {
	Source *config.Source
	Facts  Facts
	Audit  *SourceAudit
}

// Report is the audit of some sources at one time.
type Report struct {
	Time    time.Time
	Config  string // the configuration file
	Sources []SourceReport
}

// AuditSources gathers the facts of the named sources of r's
// configuration (all when none are named) and audits them as of now.
func AuditSources(ctx context.Context, r *routine.Runner, records Records, names []string, places AutomationPlaces) (*Report, error) {
	c := r.Config
	names, err := SourceNames(c, names)
	if err != nil {
		return nil, err
	}
	detect := DetectAutomation(c, places)
	rep := &Report{Time: time.Now(), Config: c.File}
	for _, n := range names {
		src := c.Sources[n]
		f := GatherFacts(ctx, r, n, records, detect(src))
		rep.Sources = append(rep.Sources, SourceReport{Source: src, Facts: f, Audit: Audit(src, f, rep.Time)})
	}
	return rep, nil
}

// Source returns the report of the named source, or nil.
func (rep *Report) Source(name string) *SourceReport {
	for i := range rep.Sources {
		if rep.Sources[i].Source.Name == name {
			return &rep.Sources[i]
		}
	}
	return nil
}

// Failing names the critical sources that are not compliant: a report
// with any fails the audit.
func (rep *Report) Failing() []string {
	var out []string
	for _, s := range rep.Sources {
		if s.Source.Tier == "critical" && !s.Audit.Compliant() {
			out = append(out, s.Source.Name)
		}
	}
	return out
}

// AuditJSON is audit --json.
type AuditJSON struct {
	Time    time.Time      `json:"time"`
	Config  string         `json:"config"`
	Sources []*SourceAudit `json:"sources"`
}

// JSON is the report as audit --json prints it.
func (rep *Report) JSON() AuditJSON {
	out := AuditJSON{Time: rep.Time, Config: rep.Config, Sources: []*SourceAudit{}}
	for _, s := range rep.Sources {
		out.Sources = append(out.Sources, s.Audit)
	}
	return out
}

// SourceStatus is one source in status --json.
type SourceStatus struct {
	Source      string       `json:"source"`
	LastRun     time.Time    `json:"last_run"`
	LastStatus  string       `json:"last_status"`
	LastError   string       `json:"last_error"`
	LastSuccess time.Time    `json:"last_success"`
	RPOMissed   bool         `json:"rpo_missed"`
	Audit       *SourceAudit `json:"audit"`
}

// Status is the report as status --json prints it.
func (rep *Report) Status() []SourceStatus {
	out := []SourceStatus{}
	for _, s := range rep.Sources {
		st := s.Facts.State
		out = append(out, SourceStatus{Source: s.Source.Name, LastRun: st.LastRun, LastStatus: st.LastStatus,
			LastError: st.LastError, LastSuccess: st.LastSuccess, RPOMissed: routine.RPOMissed(s.Source, st, rep.Time), Audit: s.Audit})
	}
	return out
}
