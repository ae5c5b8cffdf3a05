package main

import (
	"context"
	"time"

	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

func newRewriteCmd(g *globals) *cobra.Command {
	var o rewriteFlags
	cmd := &cobra.Command{
		Use:   "rewrite [flags] [SNAPSHOT...]",
		Short: "Remove files from existing snapshots, or change their host or time",
		Long: `Write a new snapshot without the files and directories the --exclude
patterns match (the patterns of backup), for each given snapshot, or every
snapshot passing --host/--tag/--path when none is given. A snapshot that
changes is saved anew, tagged "rewrite" and naming the original; with
--forget the original is removed afterwards, and the blobs left out (the
files' data, and the directory trees that named them) are recorded for
removal: the next "cairn prune" removes every one of them that no
snapshot uses from every pack holding it, whatever --max-unused says
(--prune runs that prune at once). A blob a snapshot still uses (the same
content in another file, or a snapshot not rewritten) stays, and prune
says how many; it goes with the first prune after no snapshot uses it.
This is how a file that must not be kept (a password backed up by
mistake) really leaves the repository.

--snapshot-summary gives every selected snapshot a summary with its file
count and size, as restic's does. --new-host and --new-time change those
fields. A directory that cannot be read stops the rewrite: run "cairn
repair snapshots" first. Rewrite takes an exclusive lock.`,
		Example: `  cairn rewrite --exclude '/home/*/.ssh' --exclude '*.key' --dry-run
  cairn rewrite --exclude /etc/secret.conf --forget --prune
  cairn rewrite --exclude '**/.env' --forget latest && cairn prune
  cairn rewrite --host old-name --new-host new-name --forget
  cairn rewrite --snapshot-summary`,
		RunE: func(cmd *cobra.Command, args []string) error { return runRewrite(cmd.Context(), g, &o, args) },
	}
	o.f.addFlags(cmd.Flags())
	fl := cmd.Flags()
	fl.StringArrayVarP(&o.spec.Excludes, "exclude", "e", nil, "leave out paths matching `pattern` (repeatable; backup's syntax)")
	fl.StringArrayVar(&o.spec.IExcludes, "iexclude", nil, "like --exclude, ignoring case")
	fl.StringArrayVar(&o.spec.ExcludeFiles, "exclude-file", nil, "read exclude patterns from `file` (repeatable)")
	fl.StringArrayVar(&o.spec.IExcludeFiles, "iexclude-file", nil, "like --exclude-file, ignoring case")
	fl.BoolVarP(&o.dryRun, "dry-run", "n", false, "only report what would be rewritten")
	fl.BoolVar(&o.forget, "forget", false, "remove the original snapshots, and record what was left out for removal by the next prune")
	fl.BoolVar(&o.prune, "prune", false, "with --forget: prune at once, removing what was left out that no snapshot uses")
	fl.BoolVar(&o.summary, "snapshot-summary", false, "give every snapshot a summary of its files and size")
	fl.StringVar(&o.newHost, "new-host", "", "set the host to `name`")
	fl.StringVar(&o.newTime, "new-time", "", "set the time to `time` (\"2006-01-02 15:04:05\")")
	return cmd
}

// rewriteFlags are rewrite's options.
type rewriteFlags struct {
	f                snapFilter
	spec             snapshot.FilterSpec
	dryRun, forget   bool
	prune            bool
	summary          bool
	newHost, newTime string
}

func runRewrite(ctx context.Context, g *globals, o *rewriteFlags, args []string) error {
	filter, err := snapshot.NewFilter(o.spec)
	if err != nil {
		return err
	}
	opts := repo.RewriteOptions{DryRun: o.dryRun, Forget: o.forget, Summary: o.summary, Host: o.newHost}
	if !filter.Empty() {
		opts.Exclude = func(p string, n *snapshot.Node) bool { return filter.Match(p, n.Type == snapshot.TypeDir) }
	}
	if o.newTime != "" {
		if opts.Time, err = parseSnapshotTime("--new-time", o.newTime); err != nil {
			return err
		}
	}
	if opts.Exclude == nil && !o.summary && o.newHost == "" && o.newTime == "" {
		return errNothingToRewrite
	}
	if o.prune && !o.forget {
		return errPruneNeedsForget
	}
	purged := 0
	opts.OnPurge = func(n int) { purged = n }
	r, unlock, err := g.openLocked(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	snaps, err := o.f.pick(ctx, r, args)
	if err != nil {
		return err
	}
	removed := 0
	opts.OnRemoved = func(s *snapshot.Snapshot, p, why string) {
		removed++
		g.verbosef(1, "snapshot %s: %s: %s\n", s.ID.Short(), p, why)
	}
	out, err := r.RewriteSnapshots(ctx, snaps, opts)
	ids := []string{}
	for _, ns := range out {
		if !o.dryRun {
			ids = append(ids, ns.ID.String())
			g.verbosef(0, "snapshot %s rewritten as %s\n", ns.Original.Short(), ns.ID.Short())
		} else {
			g.verbosef(0, "snapshot %s would be rewritten\n", ns.Original.Short())
		}
	}
	if err != nil {
		if ctx.Err() != nil && !g.json {
			// Originals are removed only once every new snapshot is saved.
			g.printf("rewrite was interrupted: %d of %s saved anew, no original removed\n", savedCount(out, o.dryRun), count(len(snaps), "snapshot"))
		}
		return err
	}
	forgotten := 0
	if o.forget && !o.dryRun {
		forgotten = len(out)
	}
	verb := map[bool]string{true: "would rewrite", false: "rewrote"}[o.dryRun]
	sum := message.RewriteSummary{MessageType: message.TypeSummary, MessageVersion: message.SchemaVersion,
		DryRun: o.dryRun, Rewritten: len(out), EntriesRemoved: removed, NewSnapshots: ids, Forgotten: forgotten, PurgeBlobs: purged}
	if !g.json {
		g.printf("%s %d of %s, leaving out %s%s\n", verb, len(out), count(len(snaps), "snapshot"), count(removed, "entry"), forgetNote(o.forget, o.dryRun, len(out)))
		if purged > 0 && !o.prune {
			g.printf("recorded %d blobs left out for removal: the next \"cairn prune\" removes those no snapshot uses\n", purged)
		}
	}
	if o.prune && !o.dryRun {
		if !g.json {
			g.printf("\n")
		}
		err := pruneAndReport(ctx, g, r, repo.PruneOptions{MaxUnused: 5}, func(ps message.PruneSummary) error {
			sum.Prune = &ps
			return nil
		})
		if err != nil {
			return err
		}
	}
	if g.json {
		return g.printJSON(sum)
	}
	return nil
}

// parseSnapshotTime parses a snapshot time as backup's --time does, in
// local time.
func parseSnapshotTime(flag, s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05Z07:00", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errBadTime(flag, s)
}

// savedCount is how many of the rewritten snapshots were saved.
func savedCount(out []*snapshot.Snapshot, dryRun bool) int {
	if dryRun {
		return 0
	}
	return len(out)
}
