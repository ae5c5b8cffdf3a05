package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/cairn-backup/cairn/bench"
	"github.com/cairn-backup/cairn/message"
	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
)

func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Generate datasets and measure cairn against restic, borg and kopia",
		Example: `  cairn bench gen --profile tree --size 2G --seed 1 /tmp/ds
  cairn bench run /tmp/ds --compare restic,borg
  cairn bench run /tmp/ds --compare restic --json > result.json
  cairn bench run /tmp/ds --compare restic,borg --plot bench.svg
  cairn bench scale --profile manysmall --sizes 20MiB,200MiB,2GiB`,
	}
	cmd.AddCommand(newBenchGenCmd(g), newBenchRunCmd(g), newBenchScaleCmd(g), newBenchShowCmd(g))
	return cmd
}

func newBenchGenCmd(g *globals) *cobra.Command {
	var o bench.GenOptions
	var size string
	gen := &cobra.Command{
		Use:   "gen --profile PROFILE --size SIZE [--seed N] DIR",
		Short: "Write a deterministic dataset",
		Long: `Write a dataset into DIR. Profiles: tree (source-code-like, many small
files), bigfiles (a few large files), manysmall (files under 4 KiB: a
million at 2G), vmimage (one disk image; --version N changes 1% of its
blocks per version). Content mixes text (compressible), random (already
compressed) and repeated blocks (duplicates); the same seed gives the same
bytes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := humanize.ParseBytes(size)
			if err != nil || n == 0 {
				return fmt.Errorf("--size %q: want a size such as 4G", size)
			}
			o.Size = int64(n)
			files, err := bench.Generate(args[0], o)
			if err != nil {
				return err
			}
			return g.report(message.BenchGenerated{MessageType: message.TypeSummary, MessageVersion: message.SchemaVersion, Profile: o.Profile, Files: files, Bytes: o.Size},
				"wrote %d files, about %s, to %s\n", files, humanize.IBytes(uint64(o.Size)), args[0])
		},
	}
	gen.Flags().StringVar(&o.Profile, "profile", "tree", "dataset `profile`: "+strings.Join(bench.Profiles, ", "))
	gen.Flags().StringVar(&size, "size", "1G", "approximate total `size`")
	gen.Flags().Uint64Var(&o.Seed, "seed", 1, "random `seed`")
	gen.Flags().IntVar(&o.Version, "version", 0, "vmimage: write version `n` (1% of blocks changed per version)")
	return gen
}

func newBenchRunCmd(g *globals) *cobra.Command {
	var compare, work, plotFile string
	var ceilingSample int64
	var runs int
	var same bool
	run := &cobra.Command{
		Use:   "run DIR [--compare restic,borg,kopia]",
		Short: "Time backup, re-backup, changed backup, restore and check on DIR",
		Long: `Run, each timed: a first backup of DIR, an unchanged re-backup, a backup
after 1% of the files changed (run changes them: it appends 4 KiB to every
hundredth file of DIR), a full restore, and check --read-data. With
--compare, every installed peer runs the same steps on the same data in the
same run, and the ratios cairn/peer are printed (above 1 means cairn is
faster or smaller). Reports MB/s, files/s, CPU seconds, peak RSS and
stored size, each tool's version and settings. Every backup must add a
snapshot, which the restore then restores by its ID, and the restore must
hold the dataset's files and bytes: a step that fails either check is
shown as failed, has no time or ratio, and makes the command exit 1. With
--same-settings, borg and kopia, whose defaults are not zstd, also run
with zstd (as borg-zstd and kopia-zstd), beside their defaults.
Before every backup the dataset is read once, so every tool finds it in
the page cache, and before every step dirty pages are written back (sync). With --runs N,
everything is repeated with fresh repositories and each step's median run
is reported; every run appends to 1% of the files again. Ctrl-C stops it
at once with exit code 130: no figures, how many timed commands had
ended, and the 1% change undone.

Before the steps, each stage of a backup (chunking, hashing, compression,
pack writing with verification) runs alone on one core over the first
--ceiling-sample bytes of DIR: the sum of their costs per byte, spread over
every core, is the pipeline ceiling, and the first backup is reported as a
share of it.`,
		Example: `  cairn bench gen --profile tree --size 1GiB --seed 1 /tmp/ds
  cairn bench run /tmp/ds --compare restic,borg --plot bench.svg
  cairn bench run /tmp/ds --compare restic,borg,kopia --same-settings
  cairn bench run /tmp/ds --json > bench.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			work, done, err := scratchFolder(work)
			if err != nil {
				return err
			}
			defer done()
			var peers []string
			if compare != "" {
				peers = strings.Split(compare, ",")
			}
			rep, err := bench.Run(cmd.Context(), args[0], bench.RunOptions{Cairn: self, Compare: peers, Work: work,
				Runs: runs, CeilingSample: ceilingSample, SameSettings: same, Log: func(f string, a ...any) { g.verbosef(1, f, a...) }})
			var stopped *bench.StoppedError
			if errors.As(err, &stopped) {
				fmt.Fprintf(g.stderr, "bench run stopped after %d of %d timed commands: no figures are reported, and the dataset is as it was\n", stopped.Ran, stopped.Total)
			}
			if err != nil {
				return err
			}
			if err := showReport(g, rep, plotFile); err != nil {
				return err
			}
			if failed := rep.Failed(); len(failed) > 0 {
				return fmt.Errorf("%d steps failed (they have no time and no ratio): %s", len(failed), strings.Join(failed, "; "))
			}
			return nil
		},
	}
	run.Flags().StringVar(&compare, "compare", "", "also run these `tools`: restic, borg, kopia (comma-separated)")
	run.Flags().StringVar(&plotFile, "plot", "", "also draw the MB/s of every step and tool into `file` (.svg, .png or .pdf)")
	run.Flags().IntVar(&runs, "runs", 1, "repeat everything `n` times with fresh repositories and report each step's median")
	run.Flags().Int64Var(&ceilingSample, "ceiling-sample", 256<<20, "measure the pipeline ceiling on this many `bytes` of DIR (negative: skip)")
	run.Flags().StringVar(&work, "work", "", "scratch `folder` for repositories and restores (default: a temporary one)")
	run.Flags().BoolVar(&same, "same-settings", false, "also run borg and kopia with zstd compression, beside their defaults")
	return run
}

func newBenchShowCmd(g *globals) *cobra.Command {
	var plotFile string
	cmd := &cobra.Command{
		Use:   "show FILE.json [--plot FILE.svg]",
		Short: "Print the table of a saved bench run (and draw its plot)",
		Long: `Read a report that "cairn bench run --json" wrote and print its table,
ratios and pipeline ceiling as "bench run" prints them; with --plot, draw
its MB/s plot too. Failed steps are shown as failed. A file that is not
such a report is refused with one line and exit code 1.`,
		Example: `  cairn bench run /tmp/ds --compare restic,kopia --json > bench.json
  cairn bench show bench.json
  cairn bench show bench.json --plot bench.svg`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := bench.ReadReport(args[0])
			if err != nil {
				return err
			}
			return showReport(g, rep, plotFile)
		},
	}
	cmd.Flags().StringVar(&plotFile, "plot", "", "also draw the MB/s of every step and tool into `file` (.svg, .png or .pdf)")
	return cmd
}

func newBenchScaleCmd(g *globals) *cobra.Command {
	var profile, sizes, work string
	var seed uint64
	cmd := &cobra.Command{
		Use:   "scale --profile PROFILE --sizes SIZE,SIZE,...",
		Short: "Time first backups of growing datasets: how time and peak memory scale",
		Long: `Generate a dataset of each size in turn, time cairn's first backup of it
and measure its peak RSS, then remove it. Each row gives how much the data
(files for manysmall and tree, bytes otherwise), the time and the peak RSS
grew against the first row: time should grow like the data, and memory
should stay bounded.`,
		Example: `  cairn bench scale --profile manysmall --sizes 20MiB,200MiB,2GiB
  cairn bench scale --profile bigfiles --sizes 1GiB,4GiB,16GiB --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var o bench.ScaleOptions
			for _, f := range strings.Split(sizes, ",") {
				n, err := humanize.ParseBytes(strings.TrimSpace(f))
				if err != nil || n == 0 {
					return fmt.Errorf("--sizes: %q is not a size such as 4GiB", f)
				}
				o.Sizes = append(o.Sizes, int64(n))
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			work, done, err := scratchFolder(work)
			if err != nil {
				return err
			}
			defer done()
			o.Cairn, o.Profile, o.Seed, o.Work = self, profile, seed, work
			o.Log = func(f string, a ...any) { g.verbosef(1, f, a...) }
			points, err := bench.Scale(cmd.Context(), o)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(points)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprint(tw, "files\tsize\tseconds\tMB/s\tfiles/s\tpeak RSS\tdata x\ttime x\tRSS x\t\n")
			for _, p := range points {
				fmt.Fprintf(tw, "%d\t%s\t%.2f\t%.1f\t%.0f\t%s\t%.1f\t%.1f\t%.2f\t\n", p.Files, humanize.IBytes(uint64(p.Bytes)),
					p.Seconds, p.MBps, p.FilesPerS, humanize.IBytes(uint64(p.PeakRSSKB)<<10), p.DataGrowth, p.TimeGrowth, p.RSSGrowth)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&profile, "profile", "manysmall", "dataset `profile`: "+strings.Join(bench.Profiles, ", "))
	cmd.Flags().StringVar(&sizes, "sizes", "20MiB,200MiB,2GiB", "dataset `sizes`, comma-separated, smallest first")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random `seed`")
	cmd.Flags().StringVar(&work, "work", "", "empty scratch `folder` (default: a temporary one)")
	return cmd
}

// scratchFolder returns the --work folder, which must be empty, or a new
// temporary one that done removes.
func scratchFolder(work string) (dir string, done func(), err error) {
	if work != "" {
		if entries, _ := os.ReadDir(work); len(entries) > 0 {
			return "", nil, errors.New("--work must be an empty folder")
		}
		return work, func() {}, nil
	}
	if work, err = os.MkdirTemp("", "cairn-bench-"); err != nil {
		return "", nil, err
	}
	return work, func() { _ = os.RemoveAll(work) }, nil
}

// showReport draws rep's plot into plotFile when one is given, then
// prints rep as JSON or as a table.
func showReport(g *globals, rep *bench.Report, plotFile string) error {
	if plotFile != "" {
		if err := bench.Plot(rep, plotFile); err != nil {
			return fmt.Errorf("plot: %w", err)
		}
	}
	if g.json {
		return g.printJSON(rep)
	}
	printBench(g, rep)
	return nil
}

func printBench(g *globals, rep *bench.Report) {
	if g.quiet {
		return
	}
	g.printf("dataset %s: %d files, %s\n", rep.Dataset, rep.Files, humanize.IBytes(uint64(rep.Bytes)))
	for _, r := range rep.Results {
		g.printf("  %s: %s; compression %s\n", r.Tool, rep.Versions[r.Tool], rep.Settings[r.Tool])
	}
	g.printf("\n")
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "tool\tstep\tseconds\tCPU s\tMB/s\tfiles/s\tpeak RSS\t\n")
	for _, r := range rep.Results {
		for _, s := range r.Steps {
			if s.Skipped {
				fmt.Fprintf(tw, "%s\t%s\tskipped\t\t\t\t\t%s\n", r.Tool, s.Name, "(its first backup failed)")
				continue
			}
			if s.Error != "" {
				// The reason follows the row's last cell, so that it
				// widens no column; cut, as bench run prints each
				// failure whole when it exits.
				why := s.Error
				if len(why) > 100 {
					why = why[:97] + "..."
				}
				fmt.Fprintf(tw, "%s\t%s\tFAILED\t\t\t\t\t%s\n", r.Tool, s.Name, why)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%.1f\t%.0f\t%s\t\n", r.Tool, s.Name, s.Seconds, s.CPUSeconds, s.MBps, s.FilesPerS,
				humanize.IBytes(uint64(s.PeakRSSKB)<<10))
		}
		fmt.Fprintf(tw, "%s\tstored\t%s\t\t(%.2fx smaller than the data)\t\t\t\n", r.Tool, humanize.IBytes(uint64(r.StoredBytes)), r.Reduction)
	}
	_ = tw.Flush()
	for _, peer := range rep.Results[1:] {
		r := rep.Ratios[peer.Tool]
		g.printf("\ncairn vs %s (speed ratios: above 1, cairn is faster):\n", peer.Tool)
		for _, k := range bench.StepNames {
			if v, ok := r[k]; ok {
				g.printf("  %-22s %.2fx\n", k, v)
			}
		}
		g.printf("  %-22s %.2fx (cairn/%s; below 1, cairn uses less)\n", "peak RSS (backup)", r["peak_rss_backup"], peer.Tool)
		g.printf("  %-22s %.2fx (cairn/%s; below 1, cairn stores less)\n", "stored size", r["stored_size"], peer.Tool)
	}
	if c := rep.Ceiling; c != nil {
		g.printf("\npipeline ceiling on %s of this dataset (one core per stage):\n", humanize.IBytes(uint64(c.SampleBytes)))
		for _, s := range c.Stages {
			g.printf("  %-32s %7.1f MB/s  %5.2f ns/byte\n", s.Name, s.MBps, s.NsPerByte)
		}
		g.printf("  ceiling on %d cores: %.1f MB/s; cairn's first backup reached %.0f%% of it\n", c.Cores, c.MBps, 100*rep.CeilingShare)
	}
	if len(rep.Skipped) > 0 {
		g.printf("\nnot installed, skipped: %s\n", strings.Join(rep.Skipped, ", "))
	}
}
