// Package engine holds cairn's user operations as Go functions: typed
// options and a context in, a typed result (and typed events) out. Every
// decision an operation makes lives here or below (which parent a backup
// uses, when it checkpoints, what a dry run stores), so the command line,
// the operations layer and the console are thin clients of one API.
//
// The operations move here one at a time; doc/design.md ("Layers") says
// which are here.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
)

// EventKind says what an Event reports.
type EventKind string

// The events an operation reports while it runs.
const (
	// EventParent: the backup uses Snapshot as its parent.
	EventParent EventKind = "parent"
	// EventPacksMissing: Count packs the index names are gone from
	// storage; their data is uploaded again.
	EventPacksMissing EventKind = "packs-missing"
	// EventPacksAdopted: Count packs a killed command left unindexed were
	// adopted and their blobs are reused.
	EventPacksAdopted EventKind = "packs-adopted"
	// EventPackUnreadable: an unindexed pack's header could not be read
	// (Err); it is left out.
	EventPackUnreadable EventKind = "pack-unreadable"
	// EventCheckpointFailed: a checkpoint index could not be written (Err);
	// the backup goes on.
	EventCheckpointFailed EventKind = "checkpoint-failed"
	// EventSalvaged: the operation stopped early and Count packs it stored
	// were indexed for the next run.
	EventSalvaged EventKind = "salvaged"
	// EventSalvageFailed: the packs stored could not be indexed (Err).
	EventSalvageFailed EventKind = "salvage-failed"
)

// Event is something an operation reports while it runs.
type Event struct {
	Kind     EventKind
	Count    int
	Snapshot *snapshot.Snapshot
	Err      error
}

// BackupOptions configure a backup. Paths, or one stream (Stdin or
// Command), say what is backed up.
type BackupOptions struct {
	// Paths are absolute, cleaned paths (snapshot.CleanPaths).
	Paths []string
	// Stdin, if set, is backed up as one file named StreamName.
	Stdin io.Reader
	// Command, if set, is run and its standard output backed up as one
	// file named StreamName; no snapshot is made if it fails.
	Command []string
	// CommandStderr receives the command's standard error.
	CommandStderr io.Writer
	// StreamName names the file of Stdin or Command.
	StreamName string

	Filter            *snapshot.Filter
	ExcludeCaches     bool
	ExcludeIfPresent  []string
	ExcludeLargerThan int64 // bytes; 0 excludes nothing
	OneFileSystem     bool
	// IgnoreCtime and IgnoreInode, WithAtime and ReadConcurrency are the
	// archiver's options of the same names (see snapshot.ArchiverOptions).
	IgnoreCtime, IgnoreInode, WithAtime bool
	ReadConcurrency                     int
	// Force reads every file again: the parent is recorded, but not used
	// to skip unchanged files.
	Force bool

	Tags []string
	// Host is recorded in the snapshot; empty means this machine's name.
	Host string
	// Time is the snapshot's time; zero means now.
	Time time.Time
	// Parent is a snapshot ID prefix; empty means the newest snapshot of
	// the same host and paths.
	Parent string
	// Program is recorded in the snapshot ("cairn VERSION").
	Program string
	// DryRun reads everything and stores nothing.
	DryRun bool
	// GovernMemory keeps the Go runtime's soft memory limit at what the
	// backup needs while it runs (see GovernMemory): for a process that
	// does nothing else.
	GovernMemory bool
	// CheckpointEvery is the time between checkpoint index files (besides
	// one every 64 packs); zero means five minutes.
	CheckpointEvery time.Duration

	// OnItemError is told about each file or directory that could not be
	// read; the snapshot leaves it out. Calls never overlap.
	OnItemError func(path string, err error)
	// OnFile is told about each file backed up (snapshot.ArchiverOptions).
	OnFile func(path string, status snapshot.FileStatus, size uint64)
	// OnEvent is told about what the backup decides and finds.
	OnEvent func(Event)
}

// BackupResult is what a backup did.
type BackupResult struct {
	// Snapshot is the new snapshot (its ID is zero after a dry run).
	Snapshot *snapshot.Snapshot
	// Parent is the snapshot used as the parent, or nil.
	Parent *snapshot.Snapshot
	// ItemErrors counts files and directories that could not be read.
	ItemErrors int
}

// Backup is one backup, prepared by NewBackup and started by Run.
type Backup struct {
	r    *repo.Repository
	opts BackupOptions
	a    *snapshot.Archiver

	mu     sync.Mutex // guards errors
	errors int
}

// NewBackup prepares a backup into r, which must hold a lock.
func NewBackup(r *repo.Repository, opts BackupOptions) *Backup {
	if opts.OnEvent == nil {
		opts.OnEvent = func(Event) {}
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = 5 * time.Minute
	}
	if opts.StreamName == "" {
		opts.StreamName = "stdin"
	}
	b := &Backup{r: r, opts: opts}
	var saver snapshot.ArchiveRepo = r
	if opts.DryRun {
		saver = &dryRunRepo{Repository: r, seen: map[blob.Handle]bool{}}
	}
	b.a = snapshot.NewArchiver(saver, snapshot.ArchiverOptions{
		Chunker: r.Config().Chunker, Filter: opts.Filter, ExcludeCaches: opts.ExcludeCaches,
		ExcludeIfPresent: opts.ExcludeIfPresent, OneFileSystem: opts.OneFileSystem, ExcludeLargerThan: opts.ExcludeLargerThan,
		IgnoreCtime: opts.IgnoreCtime, IgnoreInode: opts.IgnoreInode, WithAtime: opts.WithAtime, Workers: opts.ReadConcurrency,
		OnFile: opts.OnFile,
		OnError: func(p string, err error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.errors++
			if opts.OnItemError != nil {
				opts.OnItemError(p, err)
			}
		},
	})
	return b
}

// Progress is updated while the backup runs; read it from any goroutine.
func (b *Backup) Progress() *snapshot.Progress { return &b.a.Progress }

// streaming reports whether the backup reads a stream instead of paths.
func (b *Backup) streaming() bool { return b.opts.Stdin != nil || len(b.opts.Command) > 0 }

// Run backs up, then stores the index and the snapshot. It first makes
// the index agree with storage (dropping packs that are gone, adopting
// packs a killed command left unindexed), writes checkpoint index files
// while it runs, and when it stops early, by an error or ctx, indexes
// every pack it stored before it returns the error (design §12.3).
func (b *Backup) Run(ctx context.Context) (*BackupResult, error) {
	r, o := b.r, b.opts
	if o.GovernMemory {
		defer GovernMemory(r.BackupMemory())()
	}
	if !o.DryRun {
		if err := b.reconcile(ctx); err != nil {
			return nil, err
		}
	}
	snap := &snapshot.Snapshot{Time: o.Time, Host: o.Host, Paths: o.Paths, Tags: o.Tags,
		Program: o.Program, UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
	if snap.Time.IsZero() {
		snap.Time = time.Now()
	}
	if snap.Host == "" {
		snap.Host, _ = os.Hostname()
	}
	if u, err := user.Current(); err == nil {
		snap.User = u.Username
	}
	res := &BackupResult{Snapshot: snap}
	stop := b.checkpoints(ctx)
	var tree blob.ID
	var sum *snapshot.Summary
	var err error
	if b.streaming() {
		tree, sum, err = b.stream(ctx)
		snap.Paths = []string{"/" + o.StreamName}
	} else {
		if res.Parent, err = b.parent(ctx, snap.Host); err == nil {
			var parentTree blob.ID
			if res.Parent != nil {
				parentTree, snap.Parent = res.Parent.Tree, res.Parent.ID
				o.OnEvent(Event{Kind: EventParent, Snapshot: res.Parent})
				if o.Force {
					parentTree = blob.ID{} // recorded, not used: every file is read
				}
			}
			tree, sum, err = b.a.Run(ctx, o.Paths, parentTree)
		}
	}
	stop()
	if err != nil {
		// Keep what was uploaded: index the stored packs for the next run.
		n, serr := r.SalvageIndex(ctx)
		switch {
		case serr != nil:
			o.OnEvent(Event{Kind: EventSalvageFailed, Err: serr})
		case n > 0:
			o.OnEvent(Event{Kind: EventSalvaged, Count: n})
		}
		return nil, err
	}
	snap.Tree, snap.Summary = tree, sum
	if !o.DryRun {
		if err := r.Flush(ctx); err != nil {
			return nil, err
		}
		if err := r.SaveSnapshot(ctx, snap); err != nil {
			return nil, err
		}
	}
	b.mu.Lock()
	res.ItemErrors = b.errors
	b.mu.Unlock()
	return res, nil
}

// reconcile drops packs gone from storage and adopts unindexed ones.
func (b *Backup) reconcile(ctx context.Context) error {
	rep, err := b.r.ReconcilePacks(ctx)
	if err != nil {
		return err
	}
	if len(rep.Missing) > 0 {
		b.opts.OnEvent(Event{Kind: EventPacksMissing, Count: len(rep.Missing)})
	}
	if rep.Adopted > 0 {
		b.opts.OnEvent(Event{Kind: EventPacksAdopted, Count: rep.Adopted})
	}
	for _, err := range rep.AdoptedErr {
		b.opts.OnEvent(Event{Kind: EventPackUnreadable, Err: err})
	}
	return nil
}

// checkpoints writes an index file every CheckpointEvery, so an
// interrupted backup leaves reusable data; the returned function stops it.
func (b *Backup) checkpoints(ctx context.Context) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(b.opts.CheckpointEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := b.r.WriteIndex(ctx); err != nil {
					b.opts.OnEvent(Event{Kind: EventCheckpointFailed, Err: err})
				}
			}
		}
	}()
	return func() { close(stop); <-done }
}

// parent chooses the parent snapshot: the one named, or the newest of the
// same host and paths.
func (b *Backup) parent(ctx context.Context, host string) (*snapshot.Snapshot, error) {
	snaps, err := b.r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	return ChooseParent(snaps, b.opts.Parent, host, b.opts.Paths)
}

// ChooseParent returns the snapshot named by the ID prefix ref, or, when
// ref is empty, the newest of snaps (sorted oldest first) with the same
// host and paths, or nil.
func ChooseParent(snaps []*snapshot.Snapshot, ref, host string, paths []string) (*snapshot.Snapshot, error) {
	if ref != "" {
		return repo.FindSnapshot(snaps, ref)
	}
	for i := len(snaps) - 1; i >= 0; i-- {
		if s := snaps[i]; s.Host == host && slices.Equal(s.Paths, paths) {
			return s, nil
		}
	}
	return nil, nil
}

// stream backs up Stdin, or Command's output.
func (b *Backup) stream(ctx context.Context) (blob.ID, *snapshot.Summary, error) {
	o := b.opts
	if o.Stdin != nil {
		return b.a.SaveStream(ctx, o.StreamName, contextReader(ctx, o.Stdin))
	}
	cmd := exec.CommandContext(ctx, o.Command[0], o.Command[1:]...)
	cmd.Stderr = o.CommandStderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return blob.ID{}, nil, err
	}
	if err := cmd.Start(); err != nil {
		return blob.ID{}, nil, fmt.Errorf("start %s: %w", o.Command[0], err)
	}
	tree, sum, err := b.a.SaveStream(ctx, o.StreamName, out)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return blob.ID{}, nil, err
	}
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return blob.ID{}, nil, fmt.Errorf("command %q failed (%v); no snapshot was made", strings.Join(o.Command, " "), err)
	}
	return tree, sum, nil
}

// ErrNothingToBackUp is returned for options naming neither paths nor a
// stream.
var ErrNothingToBackUp = errors.New("nothing to back up: give at least one path, --stdin or --stdin-from-command")

// dryRunRepo computes IDs and reports what would be new without storing.
type dryRunRepo struct {
	*repo.Repository
	mu   sync.Mutex // guards seen
	seen map[blob.Handle]bool
}

// SaveBlob pretends to store a blob.
func (d *dryRunRepo) SaveBlob(ctx context.Context, t blob.Type, data []byte) (blob.ID, bool, error) {
	h := blob.Handle{Type: t, ID: d.BlobID(data)}
	if d.HasBlob(h) {
		return h.ID, true, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	known := d.seen[h]
	d.seen[h] = true
	return h.ID, known, nil
}

// SaveBlobStored pretends to store a blob; the plaintext size stands for
// the stored one. (Without it, the embedded repository's method would
// store the blob.)
func (d *dryRunRepo) SaveBlobStored(ctx context.Context, t blob.Type, data []byte) (blob.ID, bool, int, error) {
	id, known, err := d.SaveBlob(ctx, t, data)
	if known {
		return id, true, 0, err
	}
	return id, false, len(data), err
}

// contextReader returns a reader of rd whose reads fail once ctx is done,
// even while rd blocks (a pipe whose writer has not closed it).
func contextReader(ctx context.Context, rd io.Reader) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, rd)
		_ = pw.CloseWithError(err)
	}()
	context.AfterFunc(ctx, func() { _ = pw.CloseWithError(ctx.Err()) })
	return pr
}

// MissingPath is a backup path that cannot be read at all (it does not
// exist: a disk not mounted, a folder moved; or it cannot be looked at).
type MissingPath struct {
	Path string
	Err  error
}

// ErrAllMissing is returned when every backup path is missing: there is
// nothing to back up.
var ErrAllMissing = errors.New("every path to back up is missing: nothing to back up")

// SplitMissing splits backup paths into those that can be backed up and
// those that are missing. As restic does, a missing path is left out and
// the backup of the others goes on (the command then exits 3, as for
// unreadable files), so that one unmounted disk among a nightly job's
// paths does not cost the backup of the rest; with strict, a missing path
// is an error and nothing is backed up. Every path missing is
// ErrAllMissing.
func SplitMissing(paths []string, strict bool) (present []string, missing []MissingPath, err error) {
	for _, p := range paths {
		if _, err := os.Lstat(p); err != nil {
			if strict {
				return nil, nil, fmt.Errorf("cannot back up %s: %w", p, err)
			}
			missing = append(missing, MissingPath{Path: p, Err: err})
			continue
		}
		present = append(present, p)
	}
	if len(present) == 0 && len(missing) > 0 {
		var names []string
		for _, m := range missing {
			names = append(names, m.Path)
		}
		return nil, missing, fmt.Errorf("%w (%s)", ErrAllMissing, strings.Join(names, ", "))
	}
	return present, missing, nil
}
