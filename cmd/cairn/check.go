package main

import (
	"context"
	"fmt"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

// checkFlags are check's options.
type checkFlags struct {
	readData      bool
	subset        string
	rolling       string
	snapshotsRefs []string
	withCache     bool
}

func newCheckCmd(g *globals) *cobra.Command {
	var o checkFlags
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Verify the repository's structure and, optionally, its data",
		Long: `Check the config, keys, index files, pack files, snapshots and trees, and
that every blob a snapshot uses is indexed. With --read-data, also download
packs and verify every blob in them (its name hash, authentication tag and
content ID), many packs at once.

Every damaged or missing blob is reported with the snapshots and file paths
that use it. Any damage gives exit code 1. Packs that no index references are
reported as information only.

--rolling P% reads the P% of packs verified longest ago (never-verified
first) and records, encrypted in the repository, when each pack was
verified: any ceil(100/P) consecutive runs together read every pack.`,
		Example: `  cairn check
  cairn check --read-data
  cairn check --read-data-subset 1/7        # a different seventh each day of the week
  cairn check --read-data-subset 10%
  cairn check --read-data-subset 5G
  cairn check --rolling 10% --json           # nightly: all data verified every 10 runs
  cairn check --read-data --snapshot latest`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runCheck(cmd, g, &o) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.readData, "read-data", false, "download and verify every pack")
	f.StringVar(&o.subset, "read-data-subset", "", "verify only `n/m`, P% or a SIZE (5G) of the packs")
	f.StringVar(&o.rolling, "rolling", "", "verify the `P%` of packs verified longest ago, and record it")
	f.StringArrayVar(&o.snapshotsRefs, "snapshot", nil, "check only what snapshot `ID` uses (repeatable)")
	f.BoolVar(&o.withCache, "with-cache", false, "read the keys, index and snapshots from the local cache (default: from the storage)")
	return cmd
}

// checkSummary is check's --json summary of rep.
func checkSummary(rep *repo.CheckReport, dur time.Duration) message.CheckSummary {
	out := message.CheckSummary{MessageType: message.TypeSummary, MessageVersion: message.SchemaVersion, OK: rep.OK(), Problems: []message.CheckProblem{},
		Damage: []message.CheckDamage{}, UnindexedPacks: len(rep.UnindexedPacks), Packs: rep.Packs, Snapshots: rep.Snapshots,
		Trees: rep.Trees, PacksRead: uint64(rep.PacksRead), BytesRead: rep.BytesRead, TotalDuration: dur.Seconds()}
	for _, p := range rep.Problems {
		out.Problems = append(out.Problems, message.CheckProblem{File: p.File, Error: p.Err})
	}
	for _, d := range rep.Damage {
		snaps := []string{}
		for _, s := range d.Snapshots {
			snaps = append(snaps, s.String())
		}
		pack := ""
		if !d.Pack.IsZero() {
			pack = d.Pack.String()
		}
		out.Damage = append(out.Damage, message.CheckDamage{Blob: d.Blob.ID.String(), Type: d.Blob.Type.String(), Pack: pack,
			Reason: d.Reason, Snapshots: snaps, Paths: nonNil(d.Paths)})
	}
	if rl := rep.Rolling; rl != nil {
		roll := &message.CheckRolling{Packs: rl.Packs, Verified: rl.Verified, Coverage: rl.Coverage,
			NeverVerified: rl.NeverVerified, RunsToCover: rl.RunsToCover}
		if !rl.Oldest.IsZero() {
			oldest, age := rl.Oldest, int64(time.Since(rl.Oldest).Seconds())
			roll.OldestVerification, roll.OldestVerificationAgeSeconds = &oldest, &age
		}
		out.Rolling = roll
	}
	for _, gap := range rep.RetentionShort {
		out.RetentionShort = append(out.RetentionShort, message.RetentionGap{File: gap.File, Until: gap.Until})
	}
	return out
}

// printCheck prints a check's findings; versioned says that the storage
// keeps earlier versions, which recovery then tries first.
func printCheck(g *globals, rep *repo.CheckReport, dur time.Duration, versioned bool) {
	if g.json {
		_ = g.printJSON(checkSummary(rep, dur))
		return
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(g.stderr, "error: %s: %s\n", p.File, p.Err)
	}
	files := map[string]bool{}
	for _, d := range rep.Damage {
		where := "no index names it"
		if !d.Pack.IsZero() {
			where = "pack " + d.Pack.Short()
		}
		fmt.Fprintf(g.stderr, "damaged %s (%s): %s\n", d.Blob, where, d.Reason)
		if len(d.Paths) == 0 {
			fmt.Fprintf(g.stderr, "  used by no readable path (a directory above it is damaged)\n")
		}
		shown := 0
		for _, p := range d.Paths {
			files[p] = true
			if shown < 20 || g.verbose > 0 {
				fmt.Fprintf(g.stderr, "  %s\n", p)
				shown++
			}
		}
		if len(d.Paths) > shown {
			fmt.Fprintf(g.stderr, "  ... and %d more paths (-v shows all)\n", len(d.Paths)-shown)
		}
	}
	if len(rep.UnindexedPacks) > 0 {
		g.printf("%d packs are not referenced by any index (left by an interrupted command; \"cairn repair index\" adopts them)\n", len(rep.UnindexedPacks))
	}
	g.printf("checked %s, %s, %s", count(rep.Snapshots, "snapshot"), count(rep.Trees, "tree"), count(rep.Packs, "pack"))
	if rep.PacksRead > 0 {
		g.printf("; read %d packs, %s in %s (%s/s)", rep.PacksRead, ibytes(rep.BytesRead), formatDuration(dur),
			ibytes(uint64(float64(rep.BytesRead)/max(dur.Seconds(), 0.001))))
	}
	g.printf("\n")
	if rl := rep.Rolling; rl != nil {
		oldest := "some packs never verified"
		if !rl.Oldest.IsZero() {
			oldest = "oldest verification " + rl.Oldest.Local().Format(time.DateTime)
		}
		g.printf("rolling verification: %.0f%% of %d packs verified, %s; every %d runs read all\n",
			100*rl.Coverage, rl.Packs, oldest, rl.RunsToCover)
	}
	if n := len(rep.RetentionShort); n > 0 {
		fmt.Fprintf(g.stderr, "warning: %d files in use are retained for less than half the lock period (run \"cairn prune\", which extends it):\n", n)
		for i, gap := range rep.RetentionShort {
			if i == 20 && g.verbose == 0 {
				fmt.Fprintf(g.stderr, "  ... and %d more (-v shows all)\n", n-20)
				break
			}
			until := "no retention"
			if !gap.Until.IsZero() {
				until = "until " + gap.Until.Local().Format(time.DateTime)
			}
			fmt.Fprintf(g.stderr, "  %s: %s\n", gap.File, until)
		}
	}
	if rep.OK() {
		g.printf("no errors were found\n")
		return
	}
	if len(rep.Damage) == 0 {
		return // the problems above carry their own remedies
	}
	if versioned {
		fmt.Fprintf(g.stderr, "%d damaged or missing blobs hurt %d files. The storage keeps earlier versions: first \"cairn repair versions --dry-run\", which brings damaged and deleted files back whole; only what it cannot bring back needs \"cairn repair index --read-data\", then \"cairn repair snapshots\" (which drop data).\n",
			len(rep.Damage), len(files))
		return
	}
	fmt.Fprintf(g.stderr, "%d damaged or missing blobs hurt %d files. To recover: \"cairn repair index --read-data\", then \"cairn repair snapshots\", then run a backup.\n",
		len(rep.Damage), len(files))
}

func newRepairCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repair",
		Short: "Rebuild the index or rewrite damaged snapshots",
		Example: `  cairn repair index
  cairn repair index --read-data     # also drop blobs that fail verification
  cairn repair snapshots --dry-run
  cairn repair snapshots --forget`,
	}
	cmd.AddCommand(newRepairIndexCmd(g), newRepairSnapshotsCmd(g), newRepairVersionsCmd(g))
	return cmd
}

// newRepairIndexCmd is "repair index": a new index from the packs' headers.
func newRepairIndexCmd(g *globals) *cobra.Command {
	var dryRun, readData bool
	index := &cobra.Command{
		Use:   "index",
		Short: "Rebuild the index from the pack files' headers",
		Long: `Read the header of every pack file and write a new index from them, then
remove the old index files. Packs left by interrupted commands are adopted;
packs whose header is unreadable are left out and named. With --read-data,
whole packs are read and blobs that fail verification are left out, so that
the next backup uploads them again and "repair snapshots" can drop the
files they hurt.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, unlock, err := g.openLocked(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer unlock()
			rep, err := r.RepairIndex(cmd.Context(), repo.RepairIndexOptions{DryRun: dryRun, ReadData: readData,
				OnPack: func(name string, err error) { g.reportItemError("repair", "data/"+name, err) }})
			if err != nil && cmd.Context().Err() != nil {
				g.printf("repair index was interrupted; the repository is consistent (old and new index files may both remain until the next repair or prune)\n")
			}
			if err != nil {
				return err
			}
			verb := "wrote"
			if dryRun {
				verb = "would write"
			}
			return g.report(message.RepairIndexSummary{MessageType: message.TypeSummary, MessageVersion: message.SchemaVersion, DryRun: dryRun, Packs: rep.Packs,
				PacksIndexed: rep.PacksIndexed, Blobs: rep.Blobs, BadBlobs: rep.BadBlobs, BadPacks: rep.BadPacks,
				OldIndexFiles: rep.OldIndex},
				"%s a new index of %d blobs in %d packs, replacing %d index files; %d unreadable packs and %d damaged blobs left out\n",
				verb, rep.Blobs, rep.PacksIndexed, rep.OldIndex, rep.BadPacks, rep.BadBlobs)
		},
	}
	index.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "only report what would be done")
	index.Flags().BoolVar(&readData, "read-data", false, "read whole packs and leave out blobs that fail verification")
	return index
}

// newRepairSnapshotsCmd is "repair snapshots": snapshots rewritten without
// the files whose data is lost.
func newRepairSnapshotsCmd(g *globals) *cobra.Command {
	var dryRun, forget bool
	var f snapFilter
	snaps := &cobra.Command{
		Use:   "snapshots [SNAPSHOT...]",
		Short: "Rewrite snapshots without the files whose data is lost",
		Long: `For each snapshot (default: all, narrowed by --host, --tag, --path) that
uses blobs the index does not have or directories that cannot be read, write
a new snapshot without the files they hurt (unreadable directories become
empty), tagged "repaired". With --forget the originals are removed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			r, unlock, err := g.openLocked(ctx, true)
			if err != nil {
				return err
			}
			defer unlock()
			list, err := f.pick(ctx, r, args)
			if err != nil {
				return err
			}
			removed := 0
			repaired, err := r.RepairSnapshots(ctx, list, repo.RepairSnapshotsOptions{DryRun: dryRun, Forget: forget,
				OnRemoved: func(s *snapshot.Snapshot, p, why string) {
					removed++
					if !g.json {
						g.printf("snapshot %s: %s: %s\n", s.ID.Short(), p, why)
					}
				}})
			if err != nil {
				return err
			}
			var ids []string
			for _, s := range repaired {
				if !dryRun {
					ids = append(ids, s.ID.String())
				}
			}
			verb := "repaired"
			if dryRun {
				verb = "would repair"
			}
			return g.report(message.RepairSnapshotsSummary{MessageType: message.TypeSummary, MessageVersion: message.SchemaVersion, DryRun: dryRun, Repaired: len(repaired),
				EntriesRemoved: removed, NewSnapshots: nonNil(ids)},
				"%s %s, leaving out %s%s\n", verb, count(len(repaired), "snapshot"), count(removed, "entry"), forgetNote(forget, dryRun, len(repaired)))
		},
	}
	f.addFlags(snaps.Flags())
	snaps.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "only report what would be done")
	snaps.Flags().BoolVar(&forget, "forget", false, "remove the original snapshots")
	return snaps
}

// newRepairVersionsCmd is "repair versions": the storage brought back to
// its state at a time, from an object-locked bucket's versions.
func newRepairVersionsCmd(g *globals) *cobra.Command {
	var asOf string
	var dryRun bool
	versions := &cobra.Command{
		Use:   "versions [--as-of TIME]",
		Short: "Bring the repository back from the storage's versions after an attack",
		Long: `After an attack on an S3 bucket with object lock (which keeps every
version): files deleted, overwritten with garbage, or garbage written under
new names, with the backup machine's or the owner's credentials. Every
file gets back its newest version at or before --as-of whose bytes match
its name (every file is named by the hash of its bytes, and the config
ends with its own): a damaged or planted version is skipped for an older
one, and named. Files with no such version (written since, or garbage
under a new name) are hidden behind delete markers. Without --as-of it
finds the newest intact state by itself (object-locked repositories only,
where cairn never leaves a delete marker of its own). Nothing is deleted,
so this can itself be undone.

It reads every version it keeps (about the repository's size) and takes
no lock. Before the first copy it opens the repository as it will be
restored, with the password, and locks every copy with the mode and
period of that config, never the bucket's default retention (which an
attacker with the owner's keys may have weakened). Run it with the
maintenance credentials, then "cairn check --read-data".`,
		Example: `  cairn repair versions --dry-run                      # what the newest intact state is
  cairn repair versions --as-of "2026-12-01 03:00" --dry-run
  cairn repair versions --as-of "2026-12-01 03:00" && cairn check --read-data`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var t time.Time
			if asOf != "" {
				var err error
				if t, err = parseSnapshotTime("--as-of", asOf); err != nil {
					return err
				}
			}
			be, err := g.openBackend()
			if err != nil {
				return err
			}
			rep, err := engine.RecoverAsOf(ctx, be, engine.RecoverOptions{AsOf: t, DryRun: dryRun,
				Password: func(ctx context.Context) ([]byte, error) { return g.password(ctx, "enter the repository password: ") }})
			if err != nil {
				return err
			}
			for _, f := range rep.Restored {
				g.verbosef(1, "restore %s\n", f)
			}
			for _, f := range rep.Hidden {
				g.verbosef(1, "hide %s\n", f)
			}
			skipped := []message.SkippedVersion{}
			for _, s := range rep.Skipped {
				g.verbosef(0, "skipped version %s of %s (%s, %d bytes): its bytes do not match its name\n", s.VersionID, s.Path, s.Time.Local().Format(time.DateTime), s.Size)
				skipped = append(skipped, message.SkippedVersion{Path: s.Path, VersionID: s.VersionID, Time: s.Time, Size: s.Size})
			}
			if g.json {
				return g.printJSON(message.RecoverSummary{MessageType: message.TypeSummary, MessageVersion: message.SchemaVersion,
					DryRun: dryRun, AsOf: t, Restored: nonNil(rep.Restored), Hidden: nonNil(rep.Hidden), Unchanged: rep.Unchanged,
					Skipped: skipped, RetentionMode: rep.Mode, RetentionPeriod: rep.Period.Seconds()})
			}
			verb := map[bool]string{true: "would restore", false: "restored"}[dryRun]
			state := "the newest intact state"
			if !t.IsZero() {
				state = "their state at " + t.Local().Format(time.DateTime)
			}
			g.printf("%s %d files and hid %d, back to %s; %d were as they were; %d damaged versions skipped\n", verb, len(rep.Restored),
				len(rep.Hidden), state, rep.Unchanged, len(rep.Skipped))
			if rep.Mode != "" {
				g.printf("the copies are locked in %s mode for %s, as the repository's config says\n", rep.Mode, rep.Period)
			}
			return nil
		},
	}
	versions.Flags().StringVar(&asOf, "as-of", "", "the `time` to go back to (\"2006-01-02 15:04:05\", local time); none: the newest intact state")
	versions.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "only report what would be restored, hidden and skipped")
	return versions
}

func forgetNote(forget, dryRun bool, n int) string {
	if n == 0 || dryRun {
		return ""
	}
	if forget {
		return "; originals removed"
	}
	return "; originals kept (use --forget to remove them)"
}

// runCheck runs check with the command line's options.
func runCheck(cmd *cobra.Command, g *globals, o *checkFlags) error {
	ctx := cmd.Context()
	opts, err := engine.ParseCheck(engine.CheckRequest{ReadData: o.readData, Subset: o.subset, Rolling: o.rolling, Snapshots: o.snapshotsRefs})
	if err != nil {
		return err
	}
	if !o.withCache {
		ctx = backend.BypassCache(ctx) // check what the storage holds, as restic does
	}
	r, unlock, err := g.openReading(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := engine.ResolveCheckSnapshots(ctx, r, o.snapshotsRefs, &opts); err != nil {
		return err
	}
	c := &counters{filesDone: opts.Progress.PacksDone.Load, bytesDone: opts.Progress.BytesDone.Load, unit: "packs"}
	stopTotals := make(chan struct{})
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopTotals:
				return
			case <-t.C:
				c.totalFiles.Store(opts.Progress.PacksTotal.Load())
				c.totalBytes.Store(opts.Progress.BytesTotal.Load())
				c.totalsFinal.Store(opts.Progress.PacksTotal.Load() > 0)
			}
		}
	}()
	var prog *progress
	if opts.ReadData || opts.Rolling > 0 {
		prog = g.startProgress("read packs", c)
	}
	if opts.ReadData || opts.Rolling > 0 {
		defer engine.GovernMemory(r.CheckMemory())()
	}
	start := time.Now()
	rep, err := r.Check(ctx, opts)
	close(stopTotals)
	if prog != nil {
		prog.finish()
	}
	if err != nil && ctx.Err() != nil {
		// Say how far it got: a partial check proves nothing about the rest.
		done, total := opts.Progress.PacksDone.Load(), opts.Progress.PacksTotal.Load()
		if g.json {
			_ = g.printJSON(message.CheckSummary{MessageType: message.TypeSummary, MessageVersion: message.SchemaVersion, Interrupted: true,
				Problems: []message.CheckProblem{}, Damage: []message.CheckDamage{},
				PacksRead: done, PacksTotal: total, BytesRead: opts.Progress.BytesDone.Load(),
				TotalDuration: time.Since(start).Seconds()})
		} else if (opts.ReadData || opts.Rolling > 0) && total > 0 {
			g.printf("check was interrupted after reading %d of %d packs; nothing is proven about the rest\n", done, total)
		} else {
			g.printf("check was interrupted before it finished; nothing is proven\n")
		}
		return err
	}
	if err != nil {
		return err
	}
	printCheck(g, rep, time.Since(start), !rep.OK() && engine.KeepsVersions(ctx, r.Backend()))
	if !rep.OK() {
		return fmt.Errorf("the repository is damaged: %d problems, %d damaged or missing blobs", len(rep.Problems), len(rep.Damage))
	}
	return nil
}
