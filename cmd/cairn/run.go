package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func newRunCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "run SOURCE... | --all",
		Short: "Run the whole backup routine of configured sources",
		Long: `Run the routine of each source in the configuration file:

  1. take the source's run lock (one run at a time per source)
  2. run the before hooks; a failing one aborts the run
  3. back up to the primary repository (a SQLite database is copied
     consistently and integrity-checked first; a command source is
     backed up from the command's output)
  4. copy the source's snapshots to each copy target
  5. when retention is due (retention.prune-every, default 1d): read back
     and verify the new snapshot on each target, and only then forget and
     prune there, so old backups are never deleted before the new one is
     known to be good
  6. when due (check.every, default 1d): a rolling check of each target,
     and a measure of its storage
  7. after-success or after-failure hooks, then finally hooks
  8. notifications (webhook, healthchecks ping), state and metrics file

Every step is logged on one line; a failing step does not hide the others.
The exit code is the worst step's: 0 all ok, 3 some files could not be
read, 1 a step failed. With --json, a report per source goes to stdout.`,
		Example: `  cairn run app
  cairn run --all
  cairn --config /etc/cairn/cairn.toml run --all --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return errors.New("name the sources to run, or give --all")
			}
			c, err := g.loadConfig()
			if err != nil {
				return err
			}
			names := args
			if all {
				names = c.SourceNames()
			}
			for _, n := range names {
				if _, ok := c.Sources[n]; !ok {
					return fmt.Errorf("no source %q in %s", n, c.File)
				}
			}
			r, x, err := g.runnerInProcess(c)
			if err != nil {
				return err
			}
			defer x.Close()
			worst := 0
			for _, n := range names {
				rep := r.Run(cmd.Context(), n)
				if g.json {
					if err := g.printJSON(rep); err != nil {
						return err
					}
				}
				worst = worstCode(worst, rep.ExitCode())
				if cmd.Context().Err() != nil {
					return cmd.Context().Err()
				}
			}
			if worst != 0 {
				return &codeError{code: worst, err: fmt.Errorf("%s", runFailure(worst))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "run every source in the configuration")
	return cmd
}

func worstCode(a, b int) int {
	rank := func(c int) int {
		switch c {
		case 0:
			return 0
		case exitPartial:
			return 1
		}
		return 2
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

func runFailure(code int) string {
	if code == exitPartial {
		return "some files could not be read; the snapshots were made (see the steps above)"
	}
	return "some steps failed (see the steps above)"
}
