package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

func newRestoreCmd(g *globals) *cobra.Command {
	var (
		f                    snapFilter
		target, overwrite    string
		includes, excludes   []string
		iincludes, iexcludes []string
		verify, dryRun, del  bool
		maxEntries           uint64
		includeFiles         []string
		excludeFiles         []string
	)
	cmd := &cobra.Command{
		Use:   "restore SNAPSHOT[:SUBPATH] --target DIR",
		Short: "Restore a snapshot, or part of it, into a directory",
		Long: `Restore files from a snapshot into --target.

SNAPSHOT is an ID prefix or "latest" (narrowed by --host, --tag, --path).
SUBPATH restores only that directory's contents (or that one file).
Contents, modes, times, symlinks, hard links, extended attributes, sparse
files and, when run as root, ownership are restored, many files at once.

Nothing is ever written outside the target: entries named "..", containing
"/" or NUL, or reached through a symlink are refused with a warning, and the
exit code is then 1. A file whose data cannot be read back intact is not
left behind with wrong bytes: it is removed and named in a warning. A
directory that cannot be read is named too, and everything else is
restored (exit code 1).

A snapshot whose directories nest deeper than 2048 levels, or whose
shared subtrees expand to more than --max-entries entries (20 million by
default; counted over the distinct trees before anything is written), is
refused as malformed.

Ctrl-C or SIGTERM stops the restore within a second or two, with exit code
130 and a summary of the files really written; --overwrite if-changed
resumes it.`,
		Example: `  cairn restore latest --target /tmp/restore
  cairn restore 3f2a9c1b:/home/ann/projects --target ~/recovered --verify
  cairn restore latest --host web1 --include '*.conf' --target /tmp/conf
  cairn restore latest --target /srv --overwrite if-changed   # resume an interrupted restore`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if target == "" {
				return errors.New("--target is required")
			}
			mode, err := snapshot.ParseOverwrite(overwrite)
			if err != nil {
				return err
			}
			inc, exc := &snapshot.Filter{}, &snapshot.Filter{}
			for _, err := range []error{inc.Add(includes, false), inc.Add(iincludes, true), exc.Add(excludes, false), exc.Add(iexcludes, true)} {
				if err != nil {
					return err
				}
			}
			for _, name := range includeFiles {
				if err := inc.AddFile(name, false); err != nil {
					return err
				}
			}
			for _, name := range excludeFiles {
				if err := exc.AddFile(name, false); err != nil {
					return err
				}
			}
			if del && (!inc.Empty() || !exc.Empty()) {
				return errors.New("--delete cannot be combined with --include or --exclude: it would delete what they leave out")
			}
			r, unlock, err := g.openReading(ctx)
			if err != nil {
				return err
			}
			defer unlock()
			ref, sub, _ := strings.Cut(args[0], ":")
			s, err := f.find(ctx, r, ref)
			if err != nil {
				return err
			}
			return runRestore(ctx, g, r, s, engine.RestoreOptions{SubPath: sub, Target: target, GovernMemory: true, RestoreOptions: snapshot.RestoreOptions{
				Include: inc, Exclude: exc, Overwrite: mode, Verify: verify, Owner: os.Geteuid() == 0, MaxEntries: maxEntries,
				DryRun: dryRun, Delete: del,
			}})
		},
	}
	f.addFlags(cmd.Flags())
	fl := cmd.Flags()
	fl.StringVarP(&target, "target", "t", "", "restore into `dir`")
	fl.StringVar(&overwrite, "overwrite", "always", "existing files: `always`, if-changed (size or mtime differ) or never")
	fl.StringArrayVarP(&includes, "include", "i", nil, "restore only paths matching `pattern` (repeatable)")
	fl.StringArrayVarP(&excludes, "exclude", "e", nil, "do not restore paths matching `pattern` (repeatable)")
	fl.StringArrayVar(&iincludes, "iinclude", nil, "like --include, ignoring case")
	fl.StringArrayVar(&iexcludes, "iexclude", nil, "like --exclude, ignoring case")
	fl.BoolVar(&verify, "verify", false, "re-read every restored file and check it against the snapshot")
	fl.StringArrayVar(&includeFiles, "include-file", nil, "read --include patterns from `file` (repeatable)")
	fl.StringArrayVar(&excludeFiles, "exclude-file", nil, "read --exclude patterns from `file` (repeatable)")
	fl.BoolVarP(&dryRun, "dry-run", "n", false, "plan and count only: write and delete nothing")
	fl.BoolVar(&del, "delete", false, "make the target equal the snapshot: delete what it lacks, replace entries of another type (only inside the target)")
	fl.Uint64Var(&maxEntries, "max-entries", snapshot.DefaultMaxEntries, "refuse a snapshot expanding to more than `n` entries as malformed")
	return cmd
}

func runRestore(ctx context.Context, g *globals, r *repo.Repository, s *snapshot.Snapshot, opts engine.RestoreOptions) error {
	var mu sync.Mutex
	warnings := 0
	if g.memPlan.Max > 0 {
		opts.PackCache = g.memPlan.PackCache
		if opts.PackCache == 0 {
			opts.PackCache = -1 // no room for whole packs
		}
	}
	opts.OnDelete = func(rel string) {
		verb := "deleted"
		if opts.DryRun {
			verb = "would delete"
		}
		g.verbosef(1, "%s %s\n", verb, rel)
	}
	opts.OnReplace = func(rel string) {
		verb := "replaced"
		if opts.DryRun {
			verb = "would replace"
		}
		g.verbosef(0, "%s %s: the snapshot holds an entry of another type there\n", verb, rel)
	}
	opts.OnWarning = func(p string, err error) {
		mu.Lock()
		defer mu.Unlock()
		warnings++
		g.reportItemError("restore", p, err)
	}
	x := engine.NewRestore(r, s, opts)
	p := x.Progress()
	c := &counters{filesDone: p.FilesDone.Load, bytesDone: p.BytesDone.Load, current: p.Current,
		totals: func() (uint64, uint64, bool) { return p.TotalFiles.Load(), p.TotalBytes.Load(), p.Planned.Load() }}
	prog := g.startProgress("restore", c)
	start := time.Now()
	sum, err := x.Run(ctx)
	prog.finish()
	if sum == nil {
		return err // the subpath was not found, or the snapshot is unreadable
	}
	sub, target := path.Clean("/"+opts.SubPath), opts.Target
	interrupted := err != nil && ctx.Err() != nil
	if err != nil && !interrupted && sum.FilesRestored == 0 && sum.DirsRestored == 0 {
		return err // nothing was written: the error says it all
	}
	dur := time.Since(start)
	if g.json {
		_ = g.printJSON(message.RestoreSummary{MessageType: message.TypeSummary, MessageVersion: message.SchemaVersion, SnapshotID: s.ID.String(), TotalFiles: sum.TotalFiles,
			FilesRestored: sum.FilesRestored, FilesSkipped: sum.FilesSkipped, TotalBytes: sum.TotalBytes,
			BytesRestored: sum.BytesWritten, DirsRestored: sum.DirsRestored, FilesVerified: sum.Verified,
			Refused: sum.Refused, Failed: nonNil(sum.Failed), TotalDuration: dur.Seconds(), Interrupted: interrupted,
			DryRun: opts.DryRun, FilesDeleted: sum.Deleted, FilesReplaced: sum.Replaced})
	} else if opts.DryRun {
		g.printf("would restore %d files, %s, from snapshot %s:%s to %s", sum.TotalFiles, ibytes(sum.TotalBytes), s.ID.Short(), sub, target)
		if opts.Delete {
			g.printf(", and delete %d entries there and replace %d of another type", sum.Deleted, sum.Replaced)
		}
		g.printf("\n")
	} else {
		switch {
		case interrupted:
			g.printf("restore of snapshot %s:%s to %s was interrupted\n", s.ID.Short(), sub, target)
		case err != nil:
			g.printf("restore of snapshot %s:%s to %s failed\n", s.ID.Short(), sub, target)
		default:
			g.printf("restored snapshot %s:%s to %s\n", s.ID.Short(), sub, target)
		}
		g.printf("Files: %d restored, %d skipped, %d dirs; %s written in %s\n", sum.FilesRestored, sum.FilesSkipped,
			sum.DirsRestored, ibytes(sum.BytesWritten), formatDuration(dur))
		if sum.Deleted > 0 {
			g.printf("deleted %d entries the snapshot does not hold\n", sum.Deleted)
		}
		if sum.Replaced > 0 {
			g.printf("replaced %d entries of another type than the snapshot's\n", sum.Replaced)
		}
		if interrupted || err != nil {
			g.printf("Not restored: %d of the %d files planned\n", sum.TotalFiles-min(sum.TotalFiles, sum.FilesRestored+sum.FilesSkipped), sum.TotalFiles)
		}
		if opts.Verify && err == nil {
			g.printf("verified %d files\n", sum.Verified)
		}
	}
	if err != nil {
		return err
	}
	if len(sum.Failed) > 0 || sum.Refused > 0 {
		return fmt.Errorf("%d files or directories could not be restored and %d entries were refused (named above)", len(sum.Failed), sum.Refused)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
