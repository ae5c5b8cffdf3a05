package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/assurance"
	"github.com/cairn-backup/cairn/duration"
	"github.com/spf13/cobra"
)

func newGateCmd(g *globals) *cobra.Command {
	var maxAge, runbook string
	cmd := &cobra.Command{
		Use:   "gate SOURCE",
		Short: "Pre-change backup gate: go only with a fresh, verified backup, a passing drill and a runbook",
		Long: `Run before a migration, a mass refactor or a major upgrade. The gate:

  1. takes a backup now (the source's whole run) unless the primary holds a
     snapshot newer than --max-age (default: the source's RPO);
  2. reads back and verifies all the data of that snapshot;
  3. confirms the newest restore drill passed within drill.max-age;
  4. confirms the restore runbook exists ("cairn runbook SOURCE" writes it);
  5. records the gate, encrypted, in the primary repository: time, snapshot
     ID and a hash over the snapshot's tree (its root tree ID).

It prints the gate's artifact ID and the tree hash for the change record,
and exits 0 for go, or 1 for no-go with the reason on one line.`,
		Example: `  cairn gate app && ./migrate-database.sh
  cairn gate app --max-age 15m --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, src, err := g.configSource(args[0])
			if err != nil {
				return err
			}
			age := src.RPODuration
			if maxAge != "" {
				if age, err = duration.ParseFixed(maxAge); err != nil || age <= 0 {
					return fmt.Errorf("--max-age %q: want a duration such as 30m or 1d", maxAge)
				}
			}
			if runbook == "" {
				runbook = assurance.RunbookPath(c, args[0])
			}
			r, err := g.runner(c)
			if err != nil {
				return err
			}
			gr, err := assurance.Gate(cmd.Context(), r, args[0], age, runbook, configuredRecords{g})
			if err != nil {
				return err
			}
			if g.json {
				if err := g.printJSON(gr); err != nil {
					return err
				}
			} else {
				printGate(g, gr)
			}
			if gr.Verdict != "go" {
				return &codeError{code: exitError, err: errors.New("no-go: " + strings.Join(gr.Reasons, "; "))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&maxAge, "max-age", "", "a snapshot newer than `duration` is fresh enough (default: the RPO)")
	cmd.Flags().StringVar(&runbook, "runbook", "", "the runbook `file` that must exist (default: the one cairn runbook writes)")
	return cmd
}

func newRunbookCmd(g *globals) *cobra.Command {
	var output string
	var af automationFlags
	cmd := &cobra.Command{
		Use:   "runbook SOURCE",
		Short: "Write a restore runbook for a source, generated from its real state",
		Long: `Write a restore runbook in markdown: where the backups are (and the
newest snapshot in each), the exact cairn commands to restore the source
(a database included), the checks to run afterwards, and the restore time
measured by the last drill. It is generated from the configuration and
the repositories, so regenerating keeps it current.

By default it goes to STATE-DIR/runbooks/SOURCE.md, where "cairn gate"
looks for it; --output FILE writes elsewhere, --output - to standard
output. (-o is the global storage option, as in restic.)`,
		Example: `  cairn runbook app
  cairn runbook app-db --output - | less`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, src, err := g.configSource(args[0])
			if err != nil {
				return err
			}
			r, err := g.runner(c)
			if err != nil {
				return err
			}
			f := assurance.GatherFacts(cmd.Context(), r, args[0], configuredRecords{g}, assurance.DetectAutomation(c, af.places())(src))
			text := assurance.Runbook(c, src, f, time.Now())
			if output == "-" {
				_, err := fmt.Fprint(g.stdout, text)
				return err
			}
			if output == "" {
				output = assurance.RunbookPath(c, args[0])
			}
			if err := os.MkdirAll(filepath.Dir(output), 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(output, []byte(text), 0o600); err != nil {
				return err
			}
			g.printf("wrote the runbook of %s to %s\n", args[0], output)
			return nil
		},
	}
	cmd.Flags().StringVar(&output, "output", "", "write to `file` (- for standard output)")
	return cmd
}

// printGate prints a gate record; what the gate could not establish is
// said so ("none"), never printed as an empty hash or a zero time.
func printGate(g *globals, gr *assurance.GateRecord) {
	id := gr.ID
	if id == "" {
		id = "(not recorded)"
	}
	g.printf("gate %s for %s: %s\n", id, gr.Source, strings.ToUpper(gr.Verdict))
	if gr.Snapshot == "" {
		g.printf("  snapshot   none\n")
	} else {
		g.printf("  snapshot   %s (%s)\n", gr.Snapshot, gr.SnapshotTime.Local().Format(time.RFC3339))
	}
	g.printf("  tree hash  %s\n", orNone(gr.TreeHash))
	g.printf("  drill      %s\n", orNone(gr.Drill))
	if gr.RunbookHash == "" {
		g.printf("  runbook    %s (missing)\n", orNone(gr.Runbook))
	} else {
		g.printf("  runbook    %s (sha256 %s)\n", gr.Runbook, gr.RunbookHash)
	}
	for _, r := range gr.Reasons {
		g.printf("  no-go:     %s\n", r)
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
