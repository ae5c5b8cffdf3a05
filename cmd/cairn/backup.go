package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
)

type backupOptions struct {
	excludes, iexcludes         []string
	excludeFiles, iexcludeFiles []string
	excludeCaches               bool
	excludeIfPresent            []string
	oneFileSystem               bool
	failOnMissing               bool
	missing                     []engine.MissingPath // paths left out because they are missing
	excludeLargerThan           string
	filesFrom, filesFromRaw     []string
	filesFromVerbatim           []string
	force, ignoreCtime          bool
	ignoreInode, withAtime      bool
	readConcurrency             int
	tags                        []string
	host                        string
	dryRun                      bool
	parent                      string
	time                        string
	stdin                       bool
	stdinFilename               string
	stdinFromCommand            bool
}

func newBackupCmd(g *globals) *cobra.Command {
	var o backupOptions
	cmd := &cobra.Command{
		Use:   "backup [flags] PATH... | --stdin | --stdin-from-command -- CMD [ARGS...]",
		Short: "Create a new snapshot of files, standard input or a command's output",
		Long: `Back up the given paths into a new snapshot.

Files unchanged since the parent snapshot (the latest one of the same host
and paths, or --parent) are taken from it without being read. Files that
cannot be read are reported one line each; the snapshot is still saved and
the exit code is 3.

Exclude patterns are gitignore-style and match absolute paths: "*.o" and
"node_modules" match at any depth, "/home/*/.cache" is anchored at the
root, a trailing "/" matches directories only, and "!pattern" re-includes.`,
		Example: `  cairn backup ~/projects
  cairn backup --exclude node_modules --exclude '*.tmp' --exclude-caches ~/src /etc
  cairn backup --tag nightly --host web1 /srv/www
  pg_dump mydb | cairn backup --stdin --stdin-filename mydb.sql
  cairn backup --stdin-from-command --stdin-filename mydb.sql -- pg_dump mydb`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBackup(cmd.Context(), g, &o, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.excludes, "exclude", "e", nil, "exclude paths matching `pattern` (repeatable)")
	f.StringArrayVar(&o.iexcludes, "iexclude", nil, "like --exclude, ignoring case")
	f.StringArrayVar(&o.excludeFiles, "exclude-file", nil, "read exclude patterns from `file` (repeatable)")
	f.StringArrayVar(&o.iexcludeFiles, "iexclude-file", nil, "like --exclude-file, ignoring case")
	f.BoolVar(&o.excludeCaches, "exclude-caches", false, "skip directories holding a CACHEDIR.TAG file")
	f.StringArrayVar(&o.excludeIfPresent, "exclude-if-present", nil, "skip directories holding a file called `name` (repeatable)")
	f.BoolVarP(&o.oneFileSystem, "one-file-system", "x", false, "do not cross filesystem boundaries")
	f.BoolVar(&o.failOnMissing, "fail-on-missing", false, "a missing path is an error and nothing is backed up (default: it is left out, the others are backed up, exit 3)")
	f.StringVar(&o.excludeLargerThan, "exclude-larger-than", "", "leave out files larger than `size` (e.g. 1G)")
	f.StringArrayVar(&o.filesFrom, "files-from", nil, "read the paths to back up from `file`, one per line (# comments; glob patterns expanded)")
	f.StringArrayVar(&o.filesFromVerbatim, "files-from-verbatim", nil, "read the paths from `file`, one per line, exactly as written")
	f.StringArrayVar(&o.filesFromRaw, "files-from-raw", nil, "read the paths from `file`, separated by NUL bytes (find -print0)")
	f.BoolVarP(&o.force, "force", "f", false, "read every file again, even unchanged ones")
	f.BoolVar(&o.ignoreCtime, "ignore-ctime", false, "do not use the change time to find unchanged files")
	f.BoolVar(&o.ignoreInode, "ignore-inode", false, "do not use the inode number to find unchanged files")
	f.BoolVar(&o.withAtime, "with-atime", false, "record the files' access times")
	f.IntVar(&o.readConcurrency, "read-concurrency", 0, "read `n` files at once (default: 2 per CPU)")
	f.StringArrayVar(&o.tags, "tag", nil, "add `tag[,tag...]` to the snapshot (repeatable)")
	f.StringVarP(&o.host, "host", "H", "", "record `host` as the hostname (default: this machine's)")
	f.BoolVarP(&o.dryRun, "dry-run", "n", false, "read everything, store nothing, report what would be added")
	f.StringVar(&o.parent, "parent", "", "use snapshot `ID` as the parent")
	f.StringVar(&o.time, "time", "", "record `time` (\"2006-01-02 15:04:05\", local) instead of now")
	f.BoolVar(&o.stdin, "stdin", false, "back up standard input")
	f.StringVar(&o.stdinFilename, "stdin-filename", "stdin", "file `name` for --stdin and --stdin-from-command")
	f.BoolVar(&o.stdinFromCommand, "stdin-from-command", false, "back up the standard output of the command after --; no snapshot if it fails")
	return cmd
}

func (o *backupOptions) filter() (*snapshot.Filter, error) {
	return snapshot.NewFilter(snapshot.FilterSpec{Excludes: o.excludes, IExcludes: o.iexcludes,
		ExcludeFiles: o.excludeFiles, IExcludeFiles: o.iexcludeFiles})
}

func (o *backupOptions) snapshotTime() (time.Time, error) {
	if o.time == "" {
		return time.Now(), nil
	}
	return parseSnapshotTime("--time", o.time)
}

// check validates the arguments and returns the cleaned paths (none when
// streaming) and the exclusion filter.
func (o *backupOptions) check(args []string) ([]string, *snapshot.Filter, error) {
	streaming := o.stdin || o.stdinFromCommand
	if !streaming {
		from, err := readFilesFrom(o.filesFrom, o.filesFromVerbatim, o.filesFromRaw)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, from...)
	}
	switch {
	case o.stdin && o.stdinFromCommand:
		return nil, nil, errors.New("--stdin and --stdin-from-command exclude each other")
	case o.stdinFromCommand && len(args) == 0:
		return nil, nil, errors.New("--stdin-from-command needs a command after --")
	case o.stdin && len(args) > 0:
		return nil, nil, errors.New("--stdin takes no paths")
	case !streaming && len(args) == 0:
		return nil, nil, engine.ErrNothingToBackUp
	}
	filter, err := o.filter()
	if err != nil || streaming {
		return nil, filter, err
	}
	paths, err := snapshot.CleanPaths(args)
	if err != nil {
		return nil, nil, err
	}
	present, missing, err := engine.SplitMissing(paths, o.failOnMissing)
	if err != nil {
		return nil, nil, err
	}
	o.missing = missing
	return present, filter, nil
}

func runBackup(ctx context.Context, g *globals, o *backupOptions, args []string) error {
	streaming := o.stdin || o.stdinFromCommand
	paths, filter, err := o.check(args)
	if err != nil {
		return err
	}
	for _, m := range o.missing {
		g.reportItemError("archival", m.Path, fmt.Errorf("missing, left out of the snapshot (%v)", pathErrorCause(m.Err)))
	}
	when, err := o.snapshotTime()
	if err != nil {
		return err
	}
	var larger uint64
	if o.excludeLargerThan != "" {
		if larger, err = humanize.ParseBytes(o.excludeLargerThan); err != nil || larger == 0 {
			return fmt.Errorf("--exclude-larger-than %q: want a size such as 1G", o.excludeLargerThan)
		}
	}
	r, unlock, err := g.openLocked(ctx, false)
	if err != nil {
		return err
	}
	defer unlock()
	readers := o.readConcurrency
	if readers == 0 && g.memPlan.Max > 0 {
		readers = g.memPlan.ReadConcurrency
	}
	opts := engine.BackupOptions{Paths: paths, Filter: filter, ExcludeCaches: o.excludeCaches, ExcludeLargerThan: int64(larger),
		ExcludeIfPresent: o.excludeIfPresent, OneFileSystem: o.oneFileSystem, Tags: splitTags(o.tags),
		Host: o.host, Time: when, Parent: o.parent, Program: "cairn " + version, DryRun: o.dryRun, GovernMemory: true,
		Force: o.force, IgnoreCtime: o.ignoreCtime, IgnoreInode: o.ignoreInode, WithAtime: o.withAtime, ReadConcurrency: readers,
		StreamName: o.stdinFilename, CommandStderr: os.Stderr,
		OnItemError: func(p string, err error) { g.reportItemError("archival", p, err) },
		OnFile:      g.fileStatus,
		OnEvent:     g.backupEvent}
	switch {
	case o.stdin:
		opts.Stdin = os.Stdin
	case o.stdinFromCommand:
		opts.Command = args
	}
	b := engine.NewBackup(r, opts)
	p := b.Progress()
	c := &counters{filesDone: p.FilesDone.Load, bytesDone: p.BytesDone.Load, current: p.Current}
	if !streaming && (g.json || g.stdoutIsTerminal()) {
		go scanTotals(ctx, paths, filter, c)
	}
	prog := g.startProgress("backup", c)
	res, err := b.Run(ctx)
	prog.finish()
	if err != nil {
		return err
	}
	g.printBackupSummary(res.Snapshot, o.dryRun)
	if res.ItemErrors > 0 {
		g.exitCode = exitPartial
		if !g.json {
			fmt.Fprintf(g.stderr, "Warning: %d files or directories could not be read; the snapshot leaves them out.\n", res.ItemErrors)
		}
	}
	if len(o.missing) > 0 {
		g.exitCode = exitPartial
		if !g.json {
			fmt.Fprintf(g.stderr, "Warning: %d of the paths to back up are missing; the snapshot leaves them out (--fail-on-missing makes this an error).\n", len(o.missing))
		}
	}
	return nil
}

// outputMu serialises lines written from several goroutines.
var outputMu sync.Mutex

// fileStatus lists each new and changed file at -v, and unmodified ones
// too at -vv, as restic's -vv does; under --json as verbose_status lines.
func (g *globals) fileStatus(p string, status snapshot.FileStatus, size uint64) {
	if g.verbose < 1 || (status == snapshot.FileUnmodified && g.verbose < 2) || g.quiet {
		return
	}
	if g.json {
		outputMu.Lock()
		defer outputMu.Unlock()
		_ = g.printJSON(message.VerboseStatus{MessageType: "verbose_status", Action: string(status), Item: p, DataSize: size})
		return
	}
	g.writeLine(g.stderr, fmt.Sprintf("%-10s %s, %s\n", status, p, ibytes(size)))
}

// backupEvent prints what a backup reports as it runs.
func (g *globals) backupEvent(e engine.Event) {
	switch e.Kind {
	case engine.EventParent:
		g.verbosef(1, "using parent snapshot %s\n", e.Snapshot.ID.Short())
	case engine.EventPacksMissing:
		fmt.Fprintf(g.stderr, "warning: %d packs named by the index are missing from storage; their data will be uploaded again if still present on disk (run \"cairn check\" and \"cairn repair index\")\n", e.Count)
	case engine.EventPacksAdopted:
		g.verbosef(0, "adopted %d packs left unindexed by an interrupted command; their data is reused\n", e.Count)
	case engine.EventPackUnreadable:
		fmt.Fprintf(g.stderr, "warning: unindexed %v (left out; \"cairn repair index\" can look at it)\n", e.Err)
	case engine.EventCheckpointFailed:
		g.verbosef(1, "checkpoint: %v\n", e.Err)
	case engine.EventSalvaged:
		if !g.json {
			fmt.Fprintf(g.stderr, "no snapshot was made; the packs stored so far are indexed (%d since the last checkpoint), and the next backup reuses them\n", e.Count)
		}
	case engine.EventSalvageFailed:
		fmt.Fprintf(g.stderr, "warning: %v\n", e.Err)
	}
}

// reportItemError prints one line for a file that could not be read.
func (g *globals) reportItemError(during, item string, err error) {
	outputMu.Lock()
	g.itemErrors++
	outputMu.Unlock()
	if g.json {
		b, _ := jsonLine(message.Error{MessageType: message.TypeError, Error: message.ErrorDetail{Message: err.Error()}, During: during, Item: item})
		fmt.Fprint(g.stderr, b)
		return
	}
	g.writeLine(g.stderr, fmt.Sprintf("error: %s: %v\n", item, pathErrorCause(err)))
}

// pathErrorCause strips the path from a *fs.PathError, which the caller
// already prints.
func pathErrorCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (g *globals) printBackupSummary(s *snapshot.Snapshot, dryRun bool) {
	sum := s.Summary
	dur := sum.BackupEnd.Sub(sum.BackupStart)
	if g.json {
		out := message.BackupSummary{MessageType: message.TypeSummary, MessageVersion: message.SchemaVersion, FilesNew: sum.FilesNew, FilesChanged: sum.FilesChanged,
			FilesUnmodified: sum.FilesUnmodified, DirsNew: sum.DirsNew, DirsChanged: sum.DirsChanged,
			DirsUnmodified: sum.DirsUnmodified, DataBlobs: sum.DataBlobs, TreeBlobs: sum.TreeBlobs,
			DataAdded: sum.DataAdded, DataAddedPacked: sum.DataAddedPacked, TotalFilesProcessed: sum.TotalFilesProcessed,
			TotalBytesProcessed: sum.TotalBytesProcessed, BytesRead: sum.BytesRead,
			TotalDuration: dur.Seconds(), Errors: sum.ErrorCount, DryRun: dryRun}
		if !dryRun {
			out.SnapshotID = s.ID.String()
		}
		_ = g.printJSON(out)
		return
	}
	g.printf("Files:       %5d new, %5d changed, %5d unmodified\n", sum.FilesNew, sum.FilesChanged, sum.FilesUnmodified)
	g.printf("Dirs:        %5d new, %5d changed, %5d unmodified\n", sum.DirsNew, sum.DirsChanged, sum.DirsUnmodified)
	verb := "Added to the repository"
	if dryRun {
		verb = "Would add to the repository"
	}
	g.printf("%s: %s (%s stored); %s read\n", verb, ibytes(sum.DataAdded), ibytes(sum.DataAddedPacked), ibytes(sum.BytesRead))
	g.printf("processed %d files, %s in %s\n", sum.TotalFilesProcessed, ibytes(sum.TotalBytesProcessed), formatDuration(dur))
	if !dryRun {
		g.printf("snapshot %s saved\n", s.ID.Short())
	}
}

// readFilesFrom reads the paths of --files-from (one per line, # comments
// and blank lines skipped, glob patterns expanded), --files-from-verbatim
// (one per line, as written) and --files-from-raw (NUL-separated).
func readFilesFrom(patterns, verbatim, raw []string) ([]string, error) {
	var out []string
	read := func(name string) (string, error) {
		b, err := os.ReadFile(name)
		if err != nil {
			return "", fmt.Errorf("read file list: %w", err)
		}
		return string(b), nil
	}
	for _, name := range patterns {
		text, err := read(name)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if !strings.ContainsAny(line, "*?[") {
				out = append(out, line)
				continue
			}
			matches, err := filepath.Glob(line)
			if err != nil {
				return nil, fmt.Errorf("--files-from %s: pattern %q: %w", name, line, err)
			}
			out = append(out, matches...)
		}
	}
	for _, name := range verbatim {
		text, err := read(name)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
			if line != "" {
				out = append(out, line)
			}
		}
	}
	for _, name := range raw {
		text, err := read(name)
		if err != nil {
			return nil, err
		}
		for _, p := range strings.Split(text, "\x00") {
			if p != "" {
				out = append(out, p)
			}
		}
	}
	return out, nil
}
