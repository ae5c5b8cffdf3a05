package main

import (
	"time"

	"github.com/cairn-backup/cairn/duration"
	"github.com/cairn-backup/cairn/routine"
	"github.com/spf13/cobra"
)

func newStatusCmd(g *globals) *cobra.Command {
	var af automationFlags
	cmd := &cobra.Command{
		Use:   "status [SOURCE...]",
		Short: "Show each source's last backup, drill and check against its RPO and RTO",
		Long: `One screen per source: the last run and backup and their age against the
RPO, the last restore drill against the RTO, the last check and its
rolling coverage, and the newest snapshot on each target (primary and
copies). Read from the state files and the repositories.`,
		Example: `  cairn status
  cairn status app --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := g.auditSources(cmd.Context(), args, &af)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(rep.Status())
			}
			now := rep.Time
			for i, res := range rep.Sources {
				src, f, a, n := res.Source, res.Facts, res.Audit, res.Source.Name
				if i > 0 {
					g.printf("\n")
				}
				g.printf("%s (%s, RPO %s, RTO %s)\n", n, src.Tier, src.RPO, src.RTO)
				st := f.State
				if st.LastRun.IsZero() {
					g.printf("  last run      never\n")
				} else {
					g.printf("  last run      %s, %s%s\n", when(st.LastRun, now), st.LastStatus, prefixed(": ", st.LastError))
				}
				if st.LastSuccess.IsZero() {
					g.printf("  last backup   never: RPO MISSED\n")
				} else {
					g.printf("  last backup   %s: %s\n", when(st.LastSuccess, now),
						map[bool]string{true: "RPO MISSED", false: "within RPO"}[routine.RPOMissed(src, st, now)])
				}
				if d := a.LastDrill; d != nil {
					g.printf("  last drill    %s from %s: %s in %s, %s RTO%s\n", when(d.Time, now), d.Target,
						map[bool]string{true: "pass", false: "FAIL"}[d.Pass], seconds(d.Duration),
						map[bool]string{true: "within", false: "OVER"}[d.WithinRTO], map[bool]string{true: "", false: " (too old)"}[d.Fresh])
				} else {
					g.printf("  last drill    never\n")
				}
				if a.LastCheck.IsZero() {
					g.printf("  last check    never\n")
				} else {
					g.printf("  last check    %s: %s, rolling coverage %.0f%%\n", when(a.LastCheck, now),
						map[bool]string{true: "ok", false: "DAMAGE"}[a.LastCheckOK], 100*a.CheckCoverage)
				}
				for j, t := range f.Targets {
					role := "copy"
					if j == 0 {
						role = "primary"
					}
					switch {
					case t.Error != "":
						g.printf("  %-12s  %s: UNREADABLE: %s\n", t.Name, role, t.Error)
					case t.Latest.IsZero():
						g.printf("  %-12s  %s: no snapshot\n", t.Name, role)
					default:
						g.printf("  %-12s  %s: %s, newest %s%s\n", t.Name, role, count(t.Snapshots, "snapshot"), when(t.Latest, now),
							map[bool]string{true: "", false: " (RPO MISSED)"}[now.Sub(t.Latest) <= src.RPODuration])
					}
				}
				g.printf("  schedule      %s\n", map[bool]string{true: a.Automation, false: "not automated"}[a.Automation != ""])
			}
			return nil
		},
	}
	af.add(cmd)
	return cmd
}

// when formats a time with its age.
func when(t, now time.Time) string {
	return t.Local().Format("2006-01-02 15:04") + " (" + duration.Short(now.Sub(t)) + " ago)"
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}
