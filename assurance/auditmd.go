package assurance

import (
	"fmt"
	"strings"
	"time"
)

// AuditMarkdown renders audits as a markdown report.
func AuditMarkdown(audits []*SourceAudit, configFile string, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Backup compliance audit\n\nGenerated %s from %s.\n\n", now.Format("2006-01-02 15:04 MST"), configFile)
	b.WriteString("| source | tier | RPO | RTO | compliance state | verdict |\n|---|---|---|---|---|---|\n")
	for _, a := range audits {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | **%s** |\n", a.Source, a.Tier, a.RPO, a.RTO, a.State, a.Verdict)
	}
	for _, a := range audits {
		auditSection(&b, a, now)
	}
	return b.String()
}

func yesNo(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

func auditSection(b *strings.Builder, a *SourceAudit, now time.Time) {
	fmt.Fprintf(b, "\n## %s\n\nHolds %s. Targets: %s (primary first).\n\n", a.Source, strings.Join(a.Holds, ", "), strings.Join(a.Targets, ", "))
	b.WriteString("| question | answer |\n|---|---|\n")
	row := func(q, format string, args ...any) { fmt.Fprintf(b, "| %s | %s |\n", q, fmt.Sprintf(format, args...)) }
	row("backed up", "%s", yesNo(a.BackedUp, "yes", "**no**"))
	row("automated", "%s", yesNo(a.Automation != "", "yes ("+a.Automation+")", "**no**"))
	row("retention defined", "%s", yesNo(a.Retention, "yes", "**no**"))
	for _, r := range a.RPOByTarget {
		q := "newest snapshot on " + r.Target
		switch {
		case r.Error != "":
			row(q, "**unreadable**: %s", r.Error)
		case r.Latest.IsZero():
			row(q, "**none**")
		default:
			row(q, "%s (%s ago, %s RPO %s)", r.Latest.In(now.Location()).Format("2006-01-02 15:04"),
				age(time.Duration(r.Age*1e9)), yesNo(r.Within, "within", "**over**"), a.RPO)
		}
	}
	row("offsite copy (3-2-1)", "%s", yesNo(a.Offsite != "", a.Offsite, "**none**"))
	if a.Offsite != "" {
		safe := "yes"
		if a.OffsiteProtection != "" {
			safe = "yes (" + a.OffsiteProtection + ")"
		}
		row("offsite safe from this machine", "%s", yesNo(a.OffsiteImmutable, safe, "**no**: it can delete the offsite copy"))
	}
	if d := a.LastDrill; d != nil {
		row("last restore drill", "%s from %s: %s, %s (%s RTO %s), %s old%s", d.Time.In(now.Location()).Format("2006-01-02 15:04"), d.Target,
			yesNo(d.Pass, "pass", "**fail**"), age(time.Duration(d.Duration*1e9)), yesNo(d.WithinRTO, "within", "**over**"), a.RTO,
			age(time.Duration(d.Age*1e9)), yesNo(d.Fresh, "", " (**too old**)"))
	} else {
		row("last restore drill", "**never**")
	}
	if a.LastCheck.IsZero() {
		row("last check", "**never**")
	} else {
		row("last check", "%s: %s, rolling coverage %.0f%%", a.LastCheck.In(now.Location()).Format("2006-01-02 15:04"),
			yesNo(a.LastCheckOK, "ok", "**damage found**"), 100*a.CheckCoverage)
	}
	row("compliance state", "%s", a.State)
	row("verdict", "**%s**", a.Verdict)
	if len(a.Reasons) > 0 {
		b.WriteString("\nWhy no-go:\n\n")
		for _, r := range a.Reasons {
			fmt.Fprintf(b, "- %s\n", r)
		}
	}
}
