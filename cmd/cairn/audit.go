package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/cairn-backup/cairn/assurance"
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

func (a *automationFlags) places() assurance.AutomationPlaces {
	return assurance.AutomationPlaces{UnitDir: a.unitDir, CrontabFile: a.crontabFile}
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
               the source's), and safe from this machine (it probes, with
               canaries, whether its credentials can delete, and bypass a
               governance lock; it names the protection that holds, and a
               bucket default retention weaker than the config's is a gap)?
               last drill passed, within the RTO and not older than
               drill.max-age? last check passed, and its rolling coverage
  state        none, script_only (manual runs only), scheduled_only
               (scheduled but nothing backed up yet), script_and_scheduled
  verdict      go, or no-go with the reasons

The report is markdown (default) or --json. The exit code is 1 when any
critical source is no-go, so the audit can gate a deploy or a CI job.`,
		Example: `  cairn audit
  cairn audit app --json
  cairn audit > audit.md || echo "critical sources are not protected"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := g.auditSources(cmd.Context(), args, &af)
			if err != nil {
				return err
			}
			if g.json {
				if err := g.printJSON(rep.JSON()); err != nil {
					return err
				}
			} else {
				var audits []*assurance.SourceAudit
				for _, s := range rep.Sources {
					audits = append(audits, s.Audit)
				}
				fmt.Fprint(g.stdout, assurance.AuditMarkdown(audits, rep.Config, rep.Time))
			}
			if failing := rep.Failing(); len(failing) > 0 {
				return &codeError{code: exitError, err: fmt.Errorf("critical sources are not compliant: %s", strings.Join(failing, ", "))}
			}
			return nil
		},
	}
	af.add(cmd)
	return cmd
}

// auditSources gathers the facts of the named sources (all when none are
// named) and audits them as of now.
func (g *globals) auditSources(ctx context.Context, args []string, af *automationFlags) (*assurance.Report, error) {
	c, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	r, err := g.runner(c)
	if err != nil {
		return nil, err
	}
	return assurance.AuditSources(ctx, r, configuredRecords{g}, args, af.places())
}
