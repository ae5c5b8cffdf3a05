package assurance

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/routine"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func auditConfig(t *testing.T) *config.Config {
	t.Helper()
	c, err := config.Parse("cairn.toml", []byte(`[repositories.local]
url = "/srv/backup"
[repositories.offsite]
url = "s3:https://s3.example.com/bucket/app"
[sources.app]
paths = ["/srv/app"]
tier = "critical"
rpo = "1h"
rto = "4h"
targets = ["local", "offsite"]
schedule = "0 * * * *"
[sources.app.retention]
keep-daily = 7
[sources.app.drill]
max-age = "7d"
`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// healthy returns the facts of a well-protected source at base.
func healthy(base time.Time) Facts {
	canDelete, canBypass := true, false
	return Facts{
		Targets: []TargetFacts{
			{Name: "local", URL: "/srv/backup", Latest: base.Add(-20 * time.Minute), Snapshots: 30},
			{Name: "offsite", URL: "s3:https://s3.example.com/bucket/app", Latest: base.Add(-19 * time.Minute), Snapshots: 30, Offsite: true,
				ObjectLock: "governance", LockPeriod: "720h0m0s", BackupCanDelete: &canDelete, BackupCanBypass: &canBypass,
				Protection: "governance lock"},
		},
		Automation: "systemd",
		State: &routine.State{LastCheck: map[string]time.Time{"local": base.Add(-2 * time.Hour), "offsite": base.Add(-2 * time.Hour)},
			LastCheckOK: map[string]bool{"local": true, "offsite": true}, Coverage: map[string]float64{"local": 0.4, "offsite": 0.3}},
		Drills: []*DrillRecord{{Time: base.Add(-48 * time.Hour), Target: "offsite", Pass: true, Duration: 95, EstimatedDuration: 95}},
	}
}

func TestAuditUnderFakeClock(t *testing.T) {
	src := auditConfig(t).Sources["app"]
	base := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		facts  func() Facts
		now    time.Time
		verdit string
		reason string
		state  string
	}{
		{"compliant", func() Facts { return healthy(base) }, base, "go", "", StateScriptAndScheduled},
		{"rpo window passed", func() Facts { return healthy(base) }, base.Add(45 * time.Minute), "no-go", "over the RPO of 1h", StateScriptAndScheduled},
		{"drill too old", func() Facts { return healthy(base) }, base.Add(6 * 24 * time.Hour), "no-go", "over drill.max-age 7d", StateScriptAndScheduled},
		{"drill failed", func() Facts {
			f := healthy(base)
			f.Drills = append(f.Drills, &DrillRecord{Time: base.Add(-time.Hour), Target: "offsite", Pass: false})
			return f
		}, base, "no-go", "last restore drill", StateScriptAndScheduled},
		{"copy target missing", func() Facts {
			f := healthy(base)
			f.Targets[1] = TargetFacts{Name: "offsite", Error: "there is no repository at that location", Offsite: true}
			return f
		}, base, "no-go", "no copy on another backend", StateScriptAndScheduled},
		{"not automated", func() Facts { f := healthy(base); f.Automation = ""; return f }, base, "no-go", "not automated", StateScriptOnly},
		{"nothing yet", func() Facts {
			return Facts{Targets: []TargetFacts{{Name: "local"}, {Name: "offsite", Offsite: true}}, Automation: "daemon", State: &routine.State{}}
		}, base, "no-go", "not backed up", StateScheduledOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Audit(src, tt.facts(), tt.now)
			if a.Verdict != tt.verdit || a.State != tt.state {
				t.Errorf("verdict %s, state %s; want %s, %s (reasons %v)", a.Verdict, a.State, tt.verdit, tt.state, a.Reasons)
			}
			if tt.reason != "" && !strings.Contains(strings.Join(a.Reasons, "\n"), tt.reason) {
				t.Errorf("reasons %q lack %q", a.Reasons, tt.reason)
			}
			if tt.verdit == "go" && len(a.Reasons) != 0 {
				t.Errorf("go with reasons %v", a.Reasons)
			}
		})
	}
}

func TestAuditMarkdownGolden(t *testing.T) {
	src := auditConfig(t).Sources["app"]
	base := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		file string
		now  time.Time
	}{{"audit-go.md", base}, {"audit-no-go.md", base.Add(8 * 24 * time.Hour)}} {
		f := healthy(base)
		got := AuditMarkdown([]*SourceAudit{Audit(src, f, tt.now)}, "cairn.toml", tt.now)
		golden := filepath.Join("testdata", tt.file)
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from the report:\n%s", golden, got)
		}
	}
}

// An offsite copy the backed-up machine can delete is a gap; so is one
// under a governance lock that its credentials bypass. A compliance lock,
// a governance lock they cannot bypass, or credentials that cannot delete
// are not, and the audit names which protection holds. A bucket default
// weaker than the config's is a no-go of its own.
func TestAuditOffsiteImmutability(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	yes, no := true, false
	for _, c := range []struct {
		target     TargetFacts
		gap        string // the no-go reason's telling words, "" for none
		protection string
	}{
		{TargetFacts{Name: "offsite", Offsite: true, Latest: now, BackupCanDelete: &yes}, "can be deleted by the backed-up machine", ""},
		{TargetFacts{Name: "offsite", Offsite: true, Latest: now}, "can be deleted by the backed-up machine", ""},
		{TargetFacts{Name: "offsite", Offsite: true, Latest: now, BackupCanDelete: &yes, BackupCanBypass: &no, ObjectLock: "governance",
			LockPeriod: "720h0m0s", Protection: "governance lock"}, "", "governance lock"},
		{TargetFacts{Name: "offsite", Offsite: true, Latest: now, BackupCanDelete: &yes, BackupCanBypass: &yes, ObjectLock: "governance",
			LockPeriod: "720h0m0s"}, "this machine's credentials bypass it", ""},
		{TargetFacts{Name: "offsite", Offsite: true, Latest: now, BackupCanDelete: &no, Protection: "append-only credentials"}, "", "append-only credentials"},
		{TargetFacts{Name: "offsite", Offsite: true, Latest: now, BackupCanDelete: &yes, ObjectLock: "compliance", LockPeriod: "720h0m0s",
			Protection: "compliance lock", LockWeak: "the bucket's default retention is governance, weaker than the config's compliance: run \"cairn prune\""},
			"weaker than its config asks", "compliance lock"},
	} {
		src := &config.Source{Name: "app", Tier: "critical", RPO: "1h", RPODuration: time.Hour, Targets: []string{"local", "offsite"}}
		f := Facts{Targets: []TargetFacts{{Name: "local", Latest: now}, c.target}, State: &routine.State{}}
		a := Audit(src, f, now)
		found := false
		for _, r := range a.Reasons {
			if c.gap != "" && strings.Contains(r, c.gap) {
				found = true
			}
			if c.gap == "" && (strings.Contains(r, "offsite copy") || strings.Contains(r, "object lock of")) {
				t.Errorf("%+v: unexpected reason %q", c.target, r)
			}
		}
		if c.gap != "" && !found {
			t.Errorf("%+v: no reason saying %q; reasons %q", c.target, c.gap, a.Reasons)
		}
		if a.OffsiteProtection != c.protection {
			t.Errorf("%+v: protection %q, want %q", c.target, a.OffsiteProtection, c.protection)
		}
		md := AuditMarkdown([]*SourceAudit{a}, "cairn.toml", now)
		if c.protection != "" && !strings.Contains(md, "offsite safe from this machine | yes ("+c.protection+")") {
			t.Errorf("%+v: the report does not name the protection:\n%s", c.target, md)
		}
	}
}
