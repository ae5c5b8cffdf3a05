package assurance

import (
	"fmt"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/duration"
	"github.com/cairn-backup/cairn/routine"
)

// TargetFacts is what an audit learned about one target repository.
type TargetFacts struct {
	Name   string    `json:"name"`
	URL    string    `json:"url"`
	Error  string    `json:"error,omitempty"` // the repository could not be read
	Latest time.Time `json:"latest,omitzero"` // newest snapshot of the source
	// Snapshots is how many snapshots of the source it holds.
	Snapshots int `json:"snapshots"`
	// Offsite: on another backend than the source's data (S3, or a local
	// path on another filesystem than every path of the source).
	Offsite bool `json:"offsite"`
	// ObjectLock and LockPeriod are the repository's object lock, if any.
	ObjectLock string `json:"object_lock,omitempty"`
	LockPeriod string `json:"object_lock_period,omitempty"`
	// BackupCanDelete says whether the credentials this machine backs up
	// with can delete files there (learnt by deleting a canary); nil when
	// unknown.
	BackupCanDelete *bool `json:"backup_can_delete,omitempty"`
	// BackupCanBypass says whether those credentials deleted a
	// governance-locked canary version for good with the bypass; nil when
	// not probed (compliance mode, or credentials that cannot delete).
	BackupCanBypass *bool `json:"backup_can_bypass_governance,omitempty"`
	// Protection names what protects the target from this machine, as the
	// probe found it: "compliance lock", "governance lock", "append-only
	// credentials", "governance lock and append-only credentials", or ""
	// for nothing (repo.Protection.Kind).
	Protection string `json:"protection,omitempty"`
	// LockWeak says how the storage's lock is weaker than the config's
	// (the bucket's default retention), with the remedy.
	LockWeak string `json:"lock_weak,omitempty"`
}

// Immutable reports whether the backed-up machine cannot destroy the
// target: what the probe found protects it, or, where no probe ran, an
// object lock.
func (t TargetFacts) Immutable() bool {
	if t.BackupCanDelete == nil {
		return t.ObjectLock != ""
	}
	return t.Protection != ""
}

// Facts is everything an audit of one source looks at.
type Facts struct {
	Targets []TargetFacts
	// Automation names what runs the source on schedule ("systemd",
	// "cron", "daemon"), or is empty.
	Automation string
	State      *routine.State
	Drills     []*DrillRecord // oldest first, from every target
}

// RPOStatus is one target's newest snapshot against the RPO.
type RPOStatus struct {
	Target string    `json:"target"`
	Latest time.Time `json:"latest,omitzero"`
	Age    float64   `json:"age_seconds,omitempty"`
	Within bool      `json:"within_rpo"`
	Error  string    `json:"error,omitempty"`
}

// DrillSummary is the last drill as the audit sees it.
type DrillSummary struct {
	Time      time.Time `json:"time"`
	Target    string    `json:"target"`
	Pass      bool      `json:"pass"`
	Duration  float64   `json:"duration_seconds"`
	WithinRTO bool      `json:"within_rto"`
	Age       float64   `json:"age_seconds"`
	Fresh     bool      `json:"fresh"` // within drill.max-age
}

// Compliance states.
const (
	StateNone               = "none"
	StateScriptOnly         = "script_only"
	StateScheduledOnly      = "scheduled_only"
	StateScriptAndScheduled = "script_and_scheduled"
)

// SourceAudit is the audit of one source.
type SourceAudit struct {
	Source     string   `json:"source"`
	Holds      []string `json:"holds"`
	Tier       string   `json:"tier"`
	RPO        string   `json:"rpo"`
	RTO        string   `json:"rto"`
	Targets    []string `json:"targets"`
	BackedUp   bool     `json:"backed_up"`
	Automation string   `json:"automation,omitempty"`
	Retention  bool     `json:"retention_defined"`
	// RPOByTarget has the newest snapshot on every target against the RPO.
	RPOByTarget []RPOStatus `json:"rpo_by_target"`
	Offsite     string      `json:"offsite_target,omitempty"`
	// OffsiteImmutable: an offsite target the backed-up machine cannot
	// destroy (object lock, or credentials without delete).
	OffsiteImmutable bool `json:"offsite_immutable"`
	// OffsiteProtection names what protects the offsite copy from this
	// machine (TargetFacts.Protection).
	OffsiteProtection string        `json:"offsite_protection,omitempty"`
	LastDrill         *DrillSummary `json:"last_drill,omitempty"`
	LastCheck         time.Time     `json:"last_check,omitzero"`
	LastCheckOK       bool          `json:"last_check_ok"`
	CheckCoverage     float64       `json:"rolling_coverage"`
	State             string        `json:"compliance_state"`
	Verdict           string        `json:"verdict"` // go or no-go
	Reasons           []string      `json:"reasons,omitempty"`
}

// target returns the facts of the named target.
func (a *SourceAudit) target(f Facts, name string) *TargetFacts {
	for i := range f.Targets {
		if f.Targets[i].Name == name {
			return &f.Targets[i]
		}
	}
	return nil
}

// Compliant reports a go verdict.
func (a *SourceAudit) Compliant() bool { return a.Verdict == "go" }

// Audit judges one source from its facts at time now.
func Audit(src *config.Source, f Facts, now time.Time) *SourceAudit {
	a := &SourceAudit{Source: src.Name, Holds: src.Paths, Tier: src.Tier, RPO: src.RPO, RTO: src.RTO,
		Targets: src.Targets, Automation: f.Automation, Retention: src.Retention.HasRetention()}
	no := func(format string, args ...any) { a.Reasons = append(a.Reasons, fmt.Sprintf(format, args...)) }
	for i, t := range f.Targets {
		st := RPOStatus{Target: t.Name, Latest: t.Latest, Error: t.Error}
		switch {
		case t.Error != "":
			no("target %s could not be read: %s", t.Name, t.Error)
		case t.Latest.IsZero():
			no("target %s holds no snapshot of the source", t.Name)
		default:
			st.Age = now.Sub(t.Latest).Seconds()
			st.Within = now.Sub(t.Latest) <= src.RPODuration
			if !st.Within {
				no("the newest snapshot on %s is %s old, over the RPO of %s", t.Name, age(now.Sub(t.Latest)), src.RPO)
			}
		}
		if i == 0 && !t.Latest.IsZero() {
			a.BackedUp = true
		}
		if t.Offsite && t.Error == "" && !t.Latest.IsZero() {
			if a.Offsite == "" || (t.Immutable() && !a.OffsiteImmutable) {
				a.Offsite, a.OffsiteProtection = t.Name, t.Protection
			}
			a.OffsiteImmutable = a.OffsiteImmutable || t.Immutable()
		}
		if t.LockWeak != "" {
			no("the object lock of %s is weaker than its config asks: %s", t.Name, t.LockWeak)
		}
		a.RPOByTarget = append(a.RPOByTarget, st)
	}
	if !a.BackedUp {
		no("the source is not backed up: its primary %s holds no snapshot", src.Targets[0])
	}
	if a.Automation == "" {
		no("backups are not automated: no systemd timer, crontab entry or running daemon (cairn schedule install)")
	}
	if !a.Retention {
		no("no retention policy is defined")
	}
	if a.Offsite == "" {
		no("no copy on another backend or filesystem (3-2-1): add an offsite target")
	} else if !a.OffsiteImmutable {
		if t := a.target(f, a.Offsite); t != nil && t.BackupCanBypass != nil && *t.BackupCanBypass {
			no("the offsite copy %s is under a governance lock, but this machine's credentials bypass it (they deleted a governance-locked canary version for good): give this machine append-only credentials without s3:BypassGovernanceRetention (README: Offsite copies that survive ransomware), or use compliance mode in a new repository", a.Offsite)
		} else {
			no("the offsite copy %s can be deleted by the backed-up machine: create it with object lock (cairn init --retention-mode compliance --retention-period 30d) or give this machine append-only credentials (README: Offsite copies that survive ransomware)", a.Offsite)
		}
	}
	a.drill(src, f.Drills, now, no)
	a.check(f.State)
	if a.LastCheck.IsZero() {
		no("the repository was never checked")
	} else if !a.LastCheckOK {
		no("the last check (%s) found damage", a.LastCheck.Format(time.RFC3339))
	}
	switch {
	case a.BackedUp && a.Automation != "":
		a.State = StateScriptAndScheduled
	case a.Automation != "":
		a.State = StateScheduledOnly
	case a.BackedUp:
		a.State = StateScriptOnly
	default:
		a.State = StateNone
	}
	a.Verdict = "go"
	if len(a.Reasons) > 0 {
		a.Verdict = "no-go"
	}
	return a
}

func (a *SourceAudit) drill(src *config.Source, drills []*DrillRecord, now time.Time, no func(string, ...any)) {
	if len(drills) == 0 {
		no("no restore drill was ever recorded (cairn drill %s)", src.Name)
		return
	}
	d := drills[len(drills)-1]
	maxAge := config.Duration(src.Drill.MaxAge)
	a.LastDrill = &DrillSummary{Time: d.Time, Target: d.Target, Pass: d.Pass, Duration: d.EstimatedDuration,
		WithinRTO: d.EstimatedDuration <= src.RTODuration.Seconds(), Age: now.Sub(d.Time).Seconds(), Fresh: now.Sub(d.Time) <= maxAge}
	switch {
	case !d.Pass:
		no("the last restore drill (%s) failed", d.Time.Format(time.RFC3339))
	case !a.LastDrill.WithinRTO:
		no("the last restore drill took %s, over the RTO of %s", age(time.Duration(d.EstimatedDuration*1e9)), src.RTO)
	}
	if !a.LastDrill.Fresh {
		no("the last restore drill is %s old, over drill.max-age %s", age(now.Sub(d.Time)), src.Drill.MaxAge)
	}
}

func (a *SourceAudit) check(st *routine.State) {
	if st == nil {
		return
	}
	first := true
	for _, t := range a.Targets {
		c, ok := st.LastCheck[t]
		if !ok {
			continue
		}
		if first || c.Before(a.LastCheck) {
			a.LastCheck = c // the oldest of the targets' last checks
		}
		if first {
			a.LastCheckOK = true
			a.CheckCoverage = st.Coverage[t]
		}
		a.LastCheckOK = a.LastCheckOK && st.LastCheckOK[t]
		a.CheckCoverage = min(a.CheckCoverage, st.Coverage[t])
		first = false
	}
}

// age formats a duration for people: 3d4h, 5h10m, 12m.
func age(d time.Duration) string { return duration.Age(d) }
