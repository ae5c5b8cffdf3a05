package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/repo"
	"github.com/spf13/cobra"
)

type pruneFlags struct {
	maxUnused     string
	maxRepackSize string
	repackSmall   bool
	repackUncomp  bool
}

func (p *pruneFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.maxUnused, "max-unused", "5%", "repack packs with more than `P%` unused data (0: any unused data; unlimited: never)")
	cmd.Flags().StringVar(&p.maxRepackSize, "max-repack-size", "", "repack at most `size` of packs in this run (e.g. 10G)")
	cmd.Flags().BoolVar(&p.repackSmall, "repack-small", false, "also merge packs under 80% of the pack size into fuller ones")
	cmd.Flags().BoolVar(&p.repackUncomp, "repack-uncompressed", false, "also compress blobs stored uncompressed (once, after --compression off)")
}

func (p *pruneFlags) options(dryRun bool) (repo.PruneOptions, error) {
	return engine.ParsePrune(engine.PruneRequest{MaxUnused: p.maxUnused, MaxRepackSize: p.maxRepackSize, DryRun: dryRun, RepackSmall: p.repackSmall, RepackUncompressed: p.repackUncomp})
}

func runPrune(ctx context.Context, g *globals, r *repo.Repository, opts repo.PruneOptions) error {
	return pruneAndReport(ctx, g, r, opts, func(s message.PruneSummary) error { return g.printJSON(s) })
}

// pruneAndReport runs prune and prints what it did; with --json, the
// summary goes to emit (printed, or nested in another command's summary).
func pruneAndReport(ctx context.Context, g *globals, r *repo.Repository, opts repo.PruneOptions, emit func(message.PruneSummary) error) error {
	start := time.Now()
	rep, err := r.Prune(ctx, opts)
	if err != nil && rep != nil && rep.Stage != "" {
		// Stopped part-way: say where, and what was really deleted. Every
		// stage leaves the repository consistent (design §12.8).
		what := "interrupted"
		if ctx.Err() == nil {
			what = "stopped by an error"
		}
		if g.json {
			_ = g.printJSON(message.PruneStopped{MessageType: message.TypeSummary, MessageVersion: message.SchemaVersion, Interrupted: ctx.Err() != nil, Stage: rep.Stage,
				PackFilesDeleted: rep.FilesRemoved, PackFilesToDelete: rep.FilesToRemove,
				TotalDuration: time.Since(start).Seconds()})
		} else {
			g.printf("prune was %s during its %s stage: %d of %d pack files deleted; the repository is consistent, run prune again to finish\n",
				what, rep.Stage, rep.FilesRemoved, rep.FilesToRemove)
		}
		return err
	}
	if err != nil && ctx.Err() != nil && !g.json {
		g.printf("prune was interrupted while planning; nothing was changed\n")
	}
	if err != nil {
		return err
	}
	if g.json {
		return emit(message.PruneSummary{MessageType: message.TypeSummary, MessageVersion: message.SchemaVersion, DryRun: opts.DryRun, Packs: rep.Packs,
			PacksDeleted: rep.PacksDeleted, PacksRepacked: rep.PacksRepacked, UnindexedDeleted: rep.UnindexedDeleted,
			PacksWritten: rep.PacksWritten, BlobsUsed: rep.BlobsUsed, BlobsUnused: rep.BlobsUnused,
			BlobsRepacked: rep.BlobsRepacked, BytesTotal: rep.BytesTotal, BytesUnused: rep.BytesUnused,
			BytesDeleted: rep.BytesDeleted, BytesWritten: rep.BytesWritten, BytesFreed: int64(rep.BytesDeleted) - int64(rep.BytesWritten),
			BytesUnusedRemaining: rep.BytesUnusedRemain, TotalDuration: time.Since(start).Seconds(),
			RepackBlobs: rep.RepackBlobs, RepackBytes: rep.RepackBytes, RemovedBlobs: rep.RepackRemovedBlobs + rep.DeleteBlobs,
			RemovedBytes: rep.RepackRemovedBytes + rep.DeleteBytes, PacksKept: rep.PacksKept, PacksFullyUsed: rep.PacksFullyUsed,
			PacksPartlyUsed: rep.PacksPartlyUsed, PacksUnused: rep.PacksUnused,
			LockedKept: rep.LockedKept, LockedUntil: rep.LockedUntil, RetainExtended: rep.RetainExtended,
			PurgedBlobs: rep.PurgeBlobs, PurgeStillUsed: rep.PurgeStillUsed, PurgePacks: rep.PurgePacks})
	}
	printPrunePlan(g, rep)
	verb := map[bool]string{true: "would", false: "will"}[opts.DryRun]
	g.printf("%s delete %d packs and %d unreferenced packs, repack %d packs (%d blobs, %s)\n", verb,
		rep.PacksDeleted, rep.UnindexedDeleted, rep.PacksRepacked, rep.BlobsRepacked, ibytes(rep.BytesWritten))
	freed := int64(rep.BytesDeleted) - int64(rep.BytesWritten)
	g.printf("%s free %s\n", verb, ibytes(uint64(max(freed, 0))))
	if rep.LockedKept > 0 {
		g.printf("%d files are retained by the object lock (the first until %s); a prune after that deletes them\n",
			rep.LockedKept, rep.LockedUntil.Local().Format(time.DateTime))
	}
	if rep.RetainExtended > 0 {
		g.printf("extended the retention of %d files in use\n", rep.RetainExtended)
	}
	printPurge(g, rep, opts.DryRun)
	if !opts.DryRun {
		g.printf("done in %s\n", formatDuration(time.Since(start)))
	}
	return nil
}

// printPurge says what the purge records of rewrite --forget made prune
// remove, and what stays because a snapshot still uses it.
func printPurge(g *globals, rep *repo.PruneReport, dryRun bool) {
	verb := map[bool]string{true: "would remove", false: "removed"}[dryRun]
	if rep.PurgeBlobs > 0 {
		g.printf("%s for good %d blobs that rewrite --forget left out", verb, rep.PurgeBlobs)
		if rep.PurgePacks > 0 {
			g.printf(" (repacking %d packs --max-unused alone would keep)", rep.PurgePacks)
		}
		g.printf("\n")
	}
	if rep.PurgeStillUsed > 0 {
		g.printf("%d blobs that rewrite --forget left out are still used by snapshots (the same content elsewhere): they stay until no snapshot uses them\n", rep.PurgeStillUsed)
	}
}

// printPrunePlan prints the plan's figures as restic's prune does.
func printPrunePlan(g *globals, rep *repo.PruneReport) {
	line := func(what string, blobs int, bytes uint64) {
		g.printf("%-18s %8d blobs / %s\n", what, blobs, ibytes(bytes))
	}
	removedBlobs, removedBytes := rep.RepackRemovedBlobs+rep.DeleteBlobs, rep.RepackRemovedBytes+rep.DeleteBytes
	remaining := rep.BlobBytes - min(removedBytes, rep.BlobBytes)
	line("to repack:", rep.RepackBlobs, rep.RepackBytes)
	line("this removes:", rep.RepackRemovedBlobs, rep.RepackRemovedBytes)
	line("to delete:", rep.DeleteBlobs, rep.DeleteBytes)
	line("total prune:", removedBlobs, removedBytes)
	line("remaining:", rep.BlobsUsed+rep.BlobsUnused-removedBlobs, remaining)
	share := 0.0
	if remaining > 0 {
		share = 100 * float64(rep.BytesUnusedRemain) / float64(remaining)
	}
	g.printf("unused size after prune: %s (%.2f%% of remaining size)\n\n", ibytes(rep.BytesUnusedRemain), share)
	g.printf("totally used packs: %6d\npartly used packs:  %6d\nunused packs:       %6d\n\n", rep.PacksFullyUsed, rep.PacksPartlyUsed, rep.PacksUnused)
	g.printf("to keep:   %6d packs\nto repack: %6d packs\nto delete: %6d packs", rep.PacksKept, rep.PacksRepacked, rep.PacksDeleted)
	if rep.UnindexedDeleted > 0 {
		g.printf(" (and %d unreferenced pack files)", rep.UnindexedDeleted)
	}
	g.printf("\n\n")
}

func newPruneCmd(g *globals) *cobra.Command {
	var pf pruneFlags
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove data no snapshot uses",
		Long: `Mark every blob reachable from a snapshot; delete packs holding none;
repack packs whose unused share exceeds --max-unused, verifying every blob
copied; write the new index; remove the old index files; and only then
delete packs. Killing prune at any moment loses nothing a snapshot uses;
run it again to finish. Prune takes an exclusive lock and refuses to run
on a damaged repository.`,
		Example: `  cairn prune --dry-run
  cairn prune --max-unused 10% --max-repack-size 20G
  cairn prune --repack-uncompressed   # once, for data backed up with --compression off`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := pf.options(dryRun)
			if err != nil {
				return err
			}
			r, unlock, err := g.openLocked(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer unlock()
			return runPrune(cmd.Context(), g, r, opts)
		},
	}
	pf.add(cmd)
	cmd.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "only report what would be deleted and repacked")
	return cmd
}

func newUnlockCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "unlock",
		Short: "Remove stale locks",
		Long: `Remove locks that are stale: not refreshed for 30 minutes, or held by a
process of this host that no longer runs, and lock files that are ended
(refreshed or released) with their release markers. --remove-all removes
every lock; use it only when you are sure no other cairn is working on the
repository. In an object-locked repository the bucket's default retention
keeps ended lock files for a while: unlock says how many, and removes them
once it lapses.`,
		Example: `  cairn unlock
  cairn unlock --remove-all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := g.openRepo(cmd.Context())
			if err != nil {
				return err
			}
			n, kept, err := r.RemoveLocks(cmd.Context(), all)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(message.Done{MessageType: message.TypeSummary, MessageVersion: message.SchemaVersion, Removed: &n, Retained: &kept})
			}
			g.printf("removed %d lock files\n", n)
			if kept > 0 {
				g.printf("%d ended lock files are kept by the object lock until their retention lapses (they hold no lock; an unlock after that removes them)\n", kept)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "remove-all", false, "remove every lock, stale or not")
	return cmd
}

// forgetFlags are forget's --keep-* flags.
type forgetFlags struct{ req engine.PolicyRequest }

func newForgetCmd(g *globals) *cobra.Command {
	var (
		f       snapFilter
		ff      forgetFlags
		pf      pruneFlags
		groupBy string
		dryRun  bool
		prune   bool
	)
	cmd := &cobra.Command{
		Use:   "forget [flags] [SNAPSHOT...]",
		Short: "Remove snapshots by ID or by a retention policy",
		Long: `Remove the given snapshots, or apply a retention policy to every group of
snapshots (by default grouped by host and paths) and remove the snapshots no
rule keeps. The rules and their meaning are restic's; see the README.

A policy that would remove every snapshot of a group is refused; name the
snapshots explicitly to remove them all. Forget only removes snapshot
files; "cairn prune" (or --prune) then frees the space.`,
		Example: `  cairn forget --keep-daily 7 --keep-weekly 4 --keep-monthly 6 --dry-run
  cairn forget --keep-within 30d --keep-monthly unlimited --prune
  cairn forget --keep-last 10 --keep-tag release --group-by host
  cairn forget 3f2a9c1b 8d7e6f5a`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runForget(cmd, g, &f, &ff, &pf, groupBy, dryRun, prune, args)
		},
	}
	f.addFlags(cmd.Flags())
	fl := cmd.Flags()
	q := &ff.req
	fl.StringVarP(&q.Last, "keep-last", "l", "", "keep the last `n` snapshots")
	fl.StringVar(&q.Hourly, "keep-hourly", "", "keep the last `n` hourly snapshots")
	fl.StringVarP(&q.Daily, "keep-daily", "d", "", "keep the last `n` daily snapshots")
	fl.StringVarP(&q.Weekly, "keep-weekly", "w", "", "keep the last `n` weekly snapshots")
	fl.StringVarP(&q.Monthly, "keep-monthly", "m", "", "keep the last `n` monthly snapshots")
	fl.StringVarP(&q.Yearly, "keep-yearly", "y", "", "keep the last `n` yearly snapshots")
	fl.StringVar(&q.Within, "keep-within", "", "keep snapshots newer than `duration` (1y2mo3d4h; m is minutes, mo months) before the latest")
	fl.StringVar(&q.WithinHourly, "keep-within-hourly", "", "keep hourly snapshots within `duration` before the latest")
	fl.StringVar(&q.WithinDaily, "keep-within-daily", "", "keep daily snapshots within `duration` before the latest")
	fl.StringVar(&q.WithinWeekly, "keep-within-weekly", "", "keep weekly snapshots within `duration` before the latest")
	fl.StringVar(&q.WithinMonthly, "keep-within-monthly", "", "keep monthly snapshots within `duration` before the latest")
	fl.StringVar(&q.WithinYearly, "keep-within-yearly", "", "keep yearly snapshots within `duration` before the latest")
	fl.StringArrayVar(&q.Tags, "keep-tag", nil, "keep snapshots with `tag[,tag...]` (repeatable: any of them)")
	fl.StringVarP(&groupBy, "group-by", "g", "host,paths", "apply the policy per group of `fields` (host, paths, tags)")
	fl.BoolVarP(&dryRun, "dry-run", "n", false, "only show what would be removed")
	fl.BoolVar(&prune, "prune", false, "run prune afterwards")
	pf.add(cmd)
	return cmd
}

// applyPolicy decides per group, prints the decisions, refuses to empty a
// group, and returns the snapshots to remove with the JSON description.
// printForgetPlan prints a policy's decisions per group and returns their
// JSON form (restic's: group_key, keep, remove, reasons).
func printForgetPlan(g *globals, plan *engine.ForgetPlan) []message.ForgetGroup {
	var out []message.ForgetGroup
	for _, gr := range plan.Groups {
		fg := message.ForgetGroup{GroupKey: gr.Key, Keep: []message.Snapshot{}, Remove: []message.Snapshot{}, Reasons: []message.ForgetReason{}}
		for _, d := range gr.Decisions {
			if d.Keep {
				fg.Keep = append(fg.Keep, snapshotJSON(d.Snapshot))
				fg.Reasons = append(fg.Reasons, message.ForgetReason{Snapshot: snapshotJSON(d.Snapshot), Matches: d.Reasons})
			} else {
				fg.Remove = append(fg.Remove, snapshotJSON(d.Snapshot))
			}
		}
		if !g.json {
			if label := gr.Key.Label(); label != "" {
				g.printf("snapshots for (%s):\n", label)
			}
			for _, d := range gr.Decisions {
				mark := "remove"
				if d.Keep {
					mark = "keep  "
				}
				g.printf("  %s  %s  %s  %s\n", d.Snapshot.ID.Short(), d.Snapshot.Time.Local().Format(time.DateTime), mark, strings.Join(d.Reasons, ", "))
			}
			g.printf("%d kept, %d to remove\n\n", len(fg.Keep), len(gr.Decisions)-len(fg.Keep))
		}
		out = append(out, fg)
	}
	return out
}

// runForget applies a policy, or removes the named snapshots, then prunes
// if asked.
func runForget(cmd *cobra.Command, g *globals, f *snapFilter, ff *forgetFlags, pf *pruneFlags, groupBy string, dryRun, prune bool, args []string) error {
	ctx := cmd.Context()
	p, warnings, err := engine.ParsePolicy(ff.req)
	for _, w := range warnings {
		fmt.Fprintf(g.stderr, "warning: %s\n", w)
	}
	if err != nil {
		return err
	}
	by, err := engine.ParseGroupBy(groupBy)
	if err != nil {
		return err
	}
	popts, err := pf.options(dryRun)
	if err != nil {
		return err
	}
	fopts := engine.ForgetOptions{IDs: args, Policy: p, GroupBy: by, DryRun: dryRun}
	if err := fopts.Validate(); err != nil {
		return err
	}
	r, unlock, err := g.openLocked(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	snaps, err := f.snapshots(ctx, r)
	if err != nil {
		return err
	}
	res, err := engine.Forget(ctx, r, snaps, fopts)
	var groups []message.ForgetGroup
	if res != nil && res.Plan != nil {
		groups = printForgetPlan(g, res.Plan)
	}
	if err != nil {
		return err
	}
	remove := res.Remove
	if len(args) > 0 && !g.json {
		for _, s := range remove {
			g.printf("removed snapshot %s\n", s.ID.Short())
		}
	}
	if g.json {
		var out any = groups
		if groups == nil {
			ids := []string{}
			for _, s := range remove {
				ids = append(ids, s.ID.String())
			}
			out = []message.ForgetByID{{Remove: ids}}
		}
		if err := g.printJSON(out); err != nil {
			return err
		}
	} else {
		verb := map[bool]string{true: "would remove", false: "removed"}[dryRun]
		g.printf("%s %s\n", verb, count(len(remove), "snapshot"))
	}
	if prune && !dryRun {
		return runPrune(ctx, g, r, popts)
	}
	return nil
}
