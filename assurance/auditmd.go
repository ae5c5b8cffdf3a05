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
	for _, r := range AuditRows(a, now) {
		answer := r.Answer
		if r.Question == "verdict" {
			answer = "**" + answer + "**"
		} else if r.Bad != "" {
			answer = strings.Replace(answer, r.Bad, "**"+r.Bad+"**", 1)
		}
		fmt.Fprintf(b, "| %s | %s |\n", r.Question, answer)
	}
	if len(a.Reasons) > 0 {
		b.WriteString("\nWhy no-go:\n\n")
		for _, r := range a.Reasons {
			fmt.Fprintf(b, "- %s\n", r)
		}
	}
}

// AuditRow is one question of a source's audit and its answer. Bad is the
// part of the answer that is a gap (shown in bold, or red), "" for none.
type AuditRow struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
	Bad      string `json:"bad,omitempty"`
}

// AuditRows are the questions an audit answers for one source, in the
// order the report shows them; the markdown report and the console's
// page both render them.
func AuditRows(a *SourceAudit, now time.Time) []AuditRow {
	var rows []AuditRow
	row := func(q, answer string, bad ...string) {
		r := AuditRow{Question: q, Answer: answer}
		if len(bad) > 0 {
			r.Bad = bad[0]
		}
		rows = append(rows, r)
	}
	check := func(q string, ok bool, yes, no string) {
		if ok {
			row(q, yes)
		} else {
			row(q, no, no)
		}
	}
	check("backed up", a.BackedUp, "yes", "no")
	check("automated", a.Automation != "", "yes ("+a.Automation+")", "no")
	check("retention defined", a.Retention, "yes", "no")
	for _, r := range a.RPOByTarget {
		q := "newest snapshot on " + r.Target
		switch {
		case r.Error != "":
			row(q, "unreadable: "+r.Error, "unreadable")
		case r.Latest.IsZero():
			row(q, "none", "none")
		default:
			answer := fmt.Sprintf("%s (%s ago, %s RPO %s)", r.Latest.In(now.Location()).Format("2006-01-02 15:04"),
				age(time.Duration(r.Age*1e9)), yesNo(r.Within, "within", "over"), a.RPO)
			if r.Within {
				row(q, answer)
			} else {
				row(q, answer, "over")
			}
		}
	}
	check("offsite copy (3-2-1)", a.Offsite != "", a.Offsite, "none")
	if a.Offsite != "" {
		safe := "yes"
		if a.OffsiteProtection != "" {
			safe = "yes (" + a.OffsiteProtection + ")"
		}
		if a.OffsiteImmutable {
			row("offsite safe from this machine", safe)
		} else {
			row("offsite safe from this machine", "no: it can delete the offsite copy", "no")
		}
	}
	if d := a.LastDrill; d != nil {
		answer := fmt.Sprintf("%s from %s: %s, %s (%s RTO %s), %s old%s", d.Time.In(now.Location()).Format("2006-01-02 15:04"), d.Target,
			yesNo(d.Pass, "pass", "fail"), age(time.Duration(d.Duration*1e9)), yesNo(d.WithinRTO, "within", "over"), a.RTO,
			age(time.Duration(d.Age*1e9)), yesNo(d.Fresh, "", " (too old)"))
		switch {
		case !d.Pass:
			row("last restore drill", answer, "fail")
		case !d.WithinRTO:
			row("last restore drill", answer, "over")
		case !d.Fresh:
			row("last restore drill", answer, "too old")
		default:
			row("last restore drill", answer)
		}
	} else {
		row("last restore drill", "never", "never")
	}
	if a.LastCheck.IsZero() {
		row("last check", "never", "never")
	} else {
		answer := fmt.Sprintf("%s: %s, rolling coverage %.0f%%", a.LastCheck.In(now.Location()).Format("2006-01-02 15:04"),
			yesNo(a.LastCheckOK, "ok", "damage found"), 100*a.CheckCoverage)
		if a.LastCheckOK {
			row("last check", answer)
		} else {
			row("last check", answer, "damage found")
		}
	}
	row("compliance state", string(a.State))
	if a.Compliant() {
		row("verdict", a.Verdict)
	} else {
		row("verdict", a.Verdict, a.Verdict)
	}
	return rows
}
