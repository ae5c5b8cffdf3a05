package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/assurance"
	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/routine"
	"github.com/cairn-backup/cairn/schedule"
	"github.com/spf13/cobra"
)

// automationFlags locate installed schedules for audit and status.
type automationFlags struct {
	unitDir     string
	crontabFile string
}

func (a *automationFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&a.unitDir, "unit-dir", "", "also look for systemd timers in `dir`")
	cmd.Flags().StringVar(&a.crontabFile, "crontab-file", "", "read crontab `file` instead of running crontab -l")
}

// detector returns what runs each source on schedule: a systemd timer
// (system, user, or --unit-dir), a crontab entry, or a running daemon.
func (a *automationFlags) detector(c *config.Config) func(*config.Source) string {
	timers := map[string]bool{}
	dirs := []string{"/etc/systemd/system"}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".config", "systemd", "user"))
	}
	if a.unitDir != "" {
		dirs = append(dirs, a.unitDir)
	}
	for _, d := range dirs {
		units, _ := schedule.InstalledUnits(d)
		for _, u := range units {
			timers[u] = true
		}
	}
	crontab := schedule.ReadCrontab(a.crontabFile)
	seen := routine.StateStore{Dir: c.StateDir}.DaemonSeen()
	now := time.Now()
	return func(s *config.Source) string { return assurance.Automation(s, timers, crontab, seen, now) }
}

func newAuditCmd(g *globals) *cobra.Command {
	var af automationFlags
	cmd := &cobra.Command{
		Use:   "audit [SOURCE...]",
		Short: "Report whether every source is protected: inventory, gaps, compliance, go/no-go",
		Long: `Audit every source of the configuration (or the ones named) from the
configuration, the state files and the repositories themselves:

  inventory    what it holds, its tier, RPO, RTO and targets
  gaps         backed up? automated (systemd timer, crontab entry or running
               daemon)? retention defined? newest snapshot within the RPO on
               every target? an offsite copy (S3, or another filesystem than
               the source's)? last drill passed, within the RTO and not older
               than drill.max-age? last check passed, and its rolling coverage
  state        none, script_only (manual runs only), scheduled_only
               (scheduled but nothing backed up yet), script_and_scheduled
  verdict      go, or no-go with the reasons

The report is markdown (default) or --json. The exit code is 1 when any
critical source is no-go, so the audit can gate a deploy or a CI job.`,
		Example: `  cairn audit
  cairn audit app --json
  cairn audit > audit.md || echo "critical sources are not protected"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, results, now, err := g.auditSources(cmd.Context(), args, &af)
			if err != nil {
				return err
			}
			var audits []*assurance.SourceAudit
			var failing []string
			for _, res := range results {
				audits = append(audits, res.audit)
				if res.src.Tier == "critical" && !res.audit.Compliant() {
					failing = append(failing, res.src.Name)
				}
			}
			if g.json {
				if err := g.printJSON(map[string]any{"time": now, "config": c.File, "sources": audits}); err != nil {
					return err
				}
			} else {
				fmt.Fprint(g.stdout, assurance.AuditMarkdown(audits, c.File, now))
			}
			if len(failing) > 0 {
				return &codeError{code: exitError, err: fmt.Errorf("critical sources are not compliant: %s", strings.Join(failing, ", "))}
			}
			return nil
		},
	}
	af.add(cmd)
	return cmd
}

// audited is one source with its gathered facts and its audit.
type audited struct {
	src   *config.Source
	facts assurance.Facts
	audit *assurance.SourceAudit
}

// auditSources gathers the facts of the named sources (all when none are
// named) and audits them as of now.
func (g *globals) auditSources(ctx context.Context, args []string, af *automationFlags) (*config.Config, []audited, time.Time, error) {
	now := time.Now()
	c, err := g.loadConfig()
	if err != nil {
		return nil, nil, now, err
	}
	names, err := sourceNames(c, args)
	if err != nil {
		return nil, nil, now, err
	}
	r, err := g.runner(c)
	if err != nil {
		return nil, nil, now, err
	}
	detect := af.detector(c)
	var out []audited
	for _, n := range names {
		src := c.Sources[n]
		f := assurance.GatherFacts(ctx, r, n, configuredRecords{g}, detect(src))
		out = append(out, audited{src, f, assurance.Audit(src, f, now)})
	}
	return c, out, now, nil
}

func sourceNames(c *config.Config, args []string) ([]string, error) {
	if len(args) == 0 {
		return c.SourceNames(), nil
	}
	for _, n := range args {
		if _, ok := c.Sources[n]; !ok {
			return nil, fmt.Errorf("no source %q in %s", n, c.File)
		}
	}
	return args, nil
}
