package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/assurance"
	"github.com/cairn-backup/cairn/config"
	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
)

func newDrillCmd(g *globals) *cobra.Command {
	var o assurance.DrillOptions
	var sample string
	cmd := &cobra.Command{
		Use:   "drill SOURCE",
		Short: "Restore a source's latest snapshot into a scratch folder and prove it works",
		Long: `A restore drill: restore the latest snapshot of a configured source (or
--snapshot ID, or a random --sample SIZE of its files) from a target
repository (by default the source's drill.target, else its last target:
the offsite copy) into a scratch folder, and:

  - verify every restored file against the snapshot (restore --verify);
  - run the source's drill.verify commands, with {dir} replaced by the
    restored data (the source's path inside the scratch folder, or the
    folder itself for a database source);
  - measure the duration and throughput and compare them with the source's
    RTO; a sample drill extrapolates to the snapshot's full size, and says so;
  - record the result, encrypted, in the target repository ("cairn drills"
    lists them) and notify a failure like a failed backup;
  - remove the scratch folder unless --keep.

The exit code is 0 when the drill passed, 1 when it failed.`,
		Example: `  cairn drill app
  cairn drill app-db --target local --keep
  cairn drill app --sample 500MiB --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, src, err := g.configSource(args[0])
			if err != nil {
				return err
			}
			if sample != "" {
				if o.Sample, err = humanize.ParseBytes(sample); err != nil || o.Sample == 0 {
					return fmt.Errorf("--sample %q: want a size such as 500MiB", sample)
				}
			} else if src.Drill.Sample != "" {
				o.Sample, _ = humanize.ParseBytes(src.Drill.Sample)
			}
			r, err := g.runner(c)
			if err != nil {
				return err
			}
			rec, err := assurance.Drill(cmd.Context(), r, args[0], o, configuredRecords{g})
			if err != nil {
				return err
			}
			if g.json {
				if err := g.printJSON(rec); err != nil {
					return err
				}
			} else {
				printDrill(g, rec)
			}
			if !rec.Pass {
				return &codeError{code: exitError, err: errors.New("the drill failed: " + strings.Join(rec.Reasons, "; "))}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Target, "target", "", "restore from repository `name` (default: the source's drill target)")
	f.StringVar(&o.Snapshot, "snapshot", "", "drill snapshot `ID` instead of the latest")
	f.StringVar(&sample, "sample", "", "restore a random sample of about `size` (e.g. 1GiB) and extrapolate")
	f.BoolVar(&o.Keep, "keep", false, "keep the scratch folder")
	f.StringVar(&o.Scratch, "scratch", "", "create the scratch folder in `dir` (default: the system's temporary folder)")
	return cmd
}

// configSource loads the configuration and one of its sources.
func (g *globals) configSource(name string) (*config.Config, *config.Source, error) {
	c, err := g.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	src, ok := c.Sources[name]
	if !ok {
		return nil, nil, fmt.Errorf("no source %q in %s", name, c.File)
	}
	return c, src, nil
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Millisecond)
}

func printDrill(g *globals, d *assurance.DrillRecord) {
	verdict := "PASS"
	if !d.Pass {
		verdict = "FAIL"
	}
	g.printf("drill of %s from %s, snapshot %s: %s\n", d.Source, d.Target, short8(d.Snapshot), verdict)
	what := "restored"
	if d.Sample {
		what = "restored (sample)"
	}
	g.printf("  %s %s, %s in %s (%s/s)\n", what, count(d.Files, "file"), humanize.IBytes(d.Bytes), shortDuration(seconds(d.Duration)), humanize.IBytes(uint64(d.Throughput)))
	if d.Sample {
		g.printf("  full restore of %s estimated at %s (extrapolated from the sample)\n", humanize.IBytes(d.FullBytes), shortDuration(seconds(d.EstimatedDuration)))
	}
	g.printf("  RTO %s: %s\n", shortDuration(seconds(d.RTO)), map[bool]string{true: "within", false: "exceeded"}[d.WithinRTO])
	for _, v := range d.Verify {
		g.printf("  verify %q: %s\n", v.Command, map[bool]string{true: "ok", false: "FAILED"}[v.OK])
	}
	for _, f := range d.FailedFiles {
		g.printf("  not restorable: %s\n", f)
	}
	g.printf("  recorded as %s\n", short8(d.ID))
}

func short8(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

func newDrillsCmd(g *globals) *cobra.Command {
	var target string
	cmd := &cobra.Command{
		Use:   "drills [SOURCE...]",
		Short: "List the recorded restore drills",
		Long: `List the restore drills recorded in the configured repositories (each
source's targets, or --target), oldest first, as a table or with --json.`,
		Example: `  cairn drills
  cairn drills app --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.loadConfig()
			if err != nil {
				return err
			}
			names := args
			if len(names) == 0 {
				names = c.SourceNames()
			}
			var all []*assurance.DrillRecord
			for _, n := range names {
				src, ok := c.Sources[n]
				if !ok {
					return fmt.Errorf("no source %q in %s", n, c.File)
				}
				for _, t := range src.Targets {
					if target != "" && t != target {
						continue
					}
					ds, err := assurance.Drills(cmd.Context(), configuredRecords{g}, c.Repositories[t], n)
					if err != nil {
						return fmt.Errorf("%s: %w", t, err)
					}
					all = append(all, ds...)
				}
			}
			if g.json {
				if all == nil {
					all = []*assurance.DrillRecord{}
				}
				return g.printJSON(all)
			}
			g.printf("%-20s %-12s %-10s %-9s %8s %10s %10s %-9s %s\n", "Time", "Source", "Target", "Snapshot", "Files", "Bytes", "Duration", "RTO", "Result")
			for _, d := range all {
				res := "pass"
				if !d.Pass {
					res = "FAIL: " + strings.Join(d.Reasons, "; ")
				}
				rto := "within"
				if !d.WithinRTO {
					rto = "exceeded"
				}
				g.printf("%-20s %-12s %-10s %-9s %8d %10s %10s %-9s %s\n", d.Time.Local().Format("2006-01-02 15:04:05"), d.Source, d.Target,
					short8(d.Snapshot), d.Files, humanize.IBytes(d.Bytes), seconds(d.Duration), rto, res)
			}
			g.printf("%d drills\n", len(all))
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "target", "", "only drills recorded in repository `name`")
	return cmd
}
