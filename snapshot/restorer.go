package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cairn-backup/cairn/blob"
	"golang.org/x/sync/errgroup"
)

// RestoreRepo is what the Restorer needs from a repository.
type RestoreRepo interface {
	BlobLoader
	// BlobSize returns a blob's plaintext length.
	BlobSize(h blob.Handle) (uint32, bool)
	// BlobID computes the ID that data would have, for --verify.
	BlobID(data []byte) blob.ID
}

// BlobIntoLoader is a RestoreRepo that can load a blob into a buffer the
// caller recycles.
type BlobIntoLoader interface {
	LoadBlobInto(ctx context.Context, h blob.Handle, buf []byte) ([]byte, error)
}

// ReadPlanner is a RestoreRepo that prepares for the blob reads of a
// restore, given in the order the restore makes them (a pack cache that
// keeps only what will be read again).
type ReadPlanner interface {
	PlanReads(blobs iter.Seq[blob.Handle])
}

// Overwrite says what to do with files that exist in the target.
type Overwrite uint8

// Overwrite modes, as --overwrite takes them.
const (
	OverwriteAlways    Overwrite = iota // rewrite every file
	OverwriteIfChanged                  // skip files whose size and mtime match
	OverwriteNever                      // never touch an existing file
)

// ParseOverwrite parses "always", "if-changed" or "never".
func ParseOverwrite(s string) (Overwrite, error) {
	switch s {
	case "always", "":
		return OverwriteAlways, nil
	case "if-changed":
		return OverwriteIfChanged, nil
	case "never":
		return OverwriteNever, nil
	}
	return 0, fmt.Errorf("unknown overwrite mode %q (want always, if-changed or never)", s)
}

// RestoreOptions configure a restore.
type RestoreOptions struct {
	Include   *Filter // restore only matching paths (and what is below them)
	Exclude   *Filter // do not restore matching paths
	Overwrite Overwrite
	Verify    bool // re-read every restored file and check it against the snapshot
	// DryRun plans and counts the restore (TotalFiles, TotalBytes,
	// Deleted) and writes nothing.
	DryRun bool
	// Delete removes what the target holds that the restored tree does
	// not (files, directories, links), only inside the target, and
	// replaces entries of the wrong type (a directory where the snapshot
	// has a file or a link, a file or a link where it has a directory),
	// whatever Overwrite says. It cannot be combined with Include or
	// Exclude. OnDelete is told each path removed, OnReplace each path
	// whose entry is removed to make way for the snapshot's.
	Delete    bool
	OnDelete  func(rel string)
	OnReplace func(rel string)
	Owner     bool // restore ownership (needs root)
	Workers   int  // files written concurrently; 0 means 2×GOMAXPROCS
	// MaxEntries bounds the entries a restore plans (0 means
	// DefaultMaxEntries). Subtrees shared between directories are counted
	// once per place they appear, over the distinct trees only, before
	// anything is written; a snapshot past the bound is refused as
	// ErrMalformed, so that a small hostile repository cannot make a
	// restore use unbounded memory or time.
	MaxEntries uint64
	// OnWarning is told about entries that were refused or whose metadata
	// could not be restored. Calls never overlap.
	OnWarning func(path string, err error)
}

// RestoreSummary counts what a restore did.
type RestoreSummary struct {
	FilesRestored uint64
	FilesSkipped  uint64
	DirsRestored  uint64
	BytesWritten  uint64
	TotalFiles    uint64
	TotalBytes    uint64
	Refused       uint64   // entries refused as unsafe
	Deleted       uint64   // entries of the target removed by Delete
	Replaced      uint64   // entries of the wrong type removed by Delete to make way
	Failed        []string // files and directories that could not be restored
	Verified      uint64
}

// DefaultMaxEntries is the bound on the entries of one restore: a plan of
// this many entries takes a few GiB of memory.
const DefaultMaxEntries = 20_000_000

// ErrUnsafeName is reported for tree entries that could escape the target.
var ErrUnsafeName = errors.New("refusing to restore an unsafe name")

// Restorer writes a tree back to disk.
type Restorer struct {
	repo     RestoreRepo
	opts     RestoreOptions
	Progress Progress

	mu  sync.Mutex // guards sum
	sum RestoreSummary

	bufs *blob.Buffers // blob plaintexts being written
}

// NewRestorer returns a restorer reading from repo.
func NewRestorer(repo RestoreRepo, opts RestoreOptions) *Restorer {
	if opts.Workers <= 0 {
		opts.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	if opts.OnWarning == nil {
		opts.OnWarning = func(string, error) {}
	}
	opts.OnWarning = serialize(opts.OnWarning)
	return &Restorer{repo: repo, opts: opts, bufs: blob.NewBuffers(opts.Workers, 64<<10, 2<<20)}
}

// Restore writes node (a directory, whose contents go into target, or a
// file, written as target/NAME) found at snapPath in the snapshot.
//
// Damage is contained: a directory whose tree cannot be read, or a file
// whose data cannot, is named through OnWarning and listed in Failed, and
// everything else is restored. When ctx ends, Restore stops promptly and
// returns the summary of what it really did along with ctx's error; the
// summary is never nil.
func (r *Restorer) Restore(ctx context.Context, node *Node, snapPath, target string) (*RestoreSummary, error) {
	err := r.restore(ctx, node, snapPath, target)
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.sum
	out.Failed = slices.Clone(r.sum.Failed)
	return &out, err
}

func (r *Restorer) restore(ctx context.Context, node *Node, snapPath, target string) error {
	if r.opts.Delete && node.Type != TypeDir {
		return errors.New("--delete needs a directory to restore, not a single file")
	}
	if node.Type == TypeDir {
		if err := r.measure(ctx, node.Subtree); err != nil {
			return err
		}
	}
	if r.opts.DryRun {
		if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
			// Nothing to compare with, and a dry run creates nothing.
			p := &plan{linkOf: map[[2]uint64]string{}}
			if err := r.planAll(ctx, p, node, snapPath); err != nil {
				return err
			}
			r.countPlan(p)
			return nil
		}
	} else if err := os.MkdirAll(target, 0o700); err != nil {
		return fmt.Errorf("create target: %w", err)
	}
	root, err := os.OpenRoot(target)
	if err != nil {
		return fmt.Errorf("open target: %w", err)
	}
	defer func() { _ = root.Close() }()
	p := &plan{linkOf: map[[2]uint64]string{}}
	if err := r.planAll(ctx, p, node, snapPath); err != nil {
		return err
	}
	r.countPlan(p)
	if r.opts.Delete {
		if err := r.deleteExtra(ctx, root, p); err != nil {
			return err
		}
	}
	if r.opts.DryRun {
		return nil
	}
	for _, d := range p.dirs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.makeDir(root, d); err != nil {
			return err
		}
	}
	for _, it := range p.links {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.restoreSpecial(root, it)
	}
	if rp, ok := r.repo.(ReadPlanner); ok {
		rp.PlanReads(plannedReads(p.files))
	}
	if err := r.writeFiles(ctx, root, p.files); err != nil {
		return err
	}
	for _, it := range p.hardlinks {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.restoreHardlink(root, p, it)
	}
	for i := len(p.dirs) - 1; i >= 0; i-- {
		if p.dirs[i].rel != "" {
			r.setMeta(root, p.dirs[i])
		}
	}
	if r.opts.Verify {
		if err := r.verify(ctx, root, p.files); err != nil {
			return err
		}
	}
	return nil
}

// makeDir creates a directory, replacing a non-directory in the way when
// overwriting is allowed.
func (r *Restorer) makeDir(root *os.Root, d item) error {
	if d.rel == "" {
		return nil
	}
	fi, err := root.Lstat(d.rel)
	if err == nil && fi.IsDir() {
		return nil
	}
	if err == nil {
		if r.opts.Overwrite != OverwriteAlways {
			r.opts.OnWarning(d.snap, errors.New("a non-directory is in the way; not overwriting"))
			r.fail(d.snap)
			return nil
		}
		if err := root.Remove(d.rel); err != nil {
			return fmt.Errorf("replace %s: %w", d.rel, err)
		}
	}
	if err := root.Mkdir(d.rel, 0o700); err != nil {
		// A parent that is not a directory we made (a symlink placed in the
		// target) makes os.Root refuse: never follow it out of the target.
		r.opts.OnWarning(d.snap, fmt.Errorf("create directory: %w", err))
		r.fail(d.snap)
		return nil
	}
	r.mu.Lock()
	r.sum.DirsRestored++
	r.mu.Unlock()
	return nil
}

// prepare makes way for a new entry at rel. It reports false when the entry
// must be left alone; unless Overwrite is never, the entry then counts as
// failed, for the target does not hold what the snapshot does.
func (r *Restorer) prepare(root *os.Root, it item) bool {
	fi, err := root.Lstat(it.rel)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		r.opts.OnWarning(it.snap, err)
		r.fail(it.snap)
		return false
	}
	if r.opts.Overwrite == OverwriteNever {
		return false
	}
	if fi.IsDir() {
		// --delete removed it before anything was written; without
		// --delete a directory's content is the user's, never removed.
		r.opts.OnWarning(it.snap, errors.New("a directory is in the way; not replacing it (--delete replaces it)"))
		r.fail(it.snap)
		return false
	}
	if err := root.Remove(it.rel); err != nil {
		r.opts.OnWarning(it.snap, err)
		r.fail(it.snap)
		return false
	}
	return true
}

func (r *Restorer) restoreHardlink(root *os.Root, p *plan, it item) {
	first := p.linkOf[[2]uint64{it.node.Device, it.node.Inode}]
	if !r.prepare(root, it) {
		return
	}
	if err := root.Link(first, it.rel); err != nil {
		r.opts.OnWarning(it.snap, fmt.Errorf("hard link: %w", err))
		return
	}
	r.mu.Lock()
	r.sum.FilesRestored++
	r.mu.Unlock()
}

// writeFiles writes files with a fixed set of workers: long-lived
// goroutines keep their grown stacks, where a goroutine per file would
// grow (copy) its stack again for every file.
func (r *Restorer) writeFiles(ctx context.Context, root *os.Root, files []item) error {
	dirs := newDirHandles(root, files)
	defer dirs.closeAll()
	g, gctx := errgroup.WithContext(ctx)
	jobs := make(chan item)
	for range r.opts.Workers {
		g.Go(func() error {
			for it := range jobs {
				err := r.writeFile(gctx, root, dirs, it)
				dirs.done(path.Dir(it.rel))
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
feed:
	for _, it := range files {
		select {
		case jobs <- it:
		case <-gctx.Done():
			break feed
		}
	}
	close(jobs)
	if err := g.Wait(); err != nil {
		return err
	}
	// Workers stop taking files once ctx ends, without an error of their
	// own: the restore is not complete then.
	return ctx.Err()
}

func (r *Restorer) skipExisting(root *os.Root, it item) bool {
	fi, err := root.Lstat(it.rel)
	if err != nil {
		return false
	}
	switch r.opts.Overwrite {
	case OverwriteNever:
		return true
	case OverwriteIfChanged:
		return fi.Mode().IsRegular() && uint64(fi.Size()) == it.node.Size && fi.ModTime().Equal(it.node.ModTime)
	}
	return false
}

func (r *Restorer) writeFile(ctx context.Context, root *os.Root, dirs *dirHandles, it item) error {
	r.Progress.current.Store(&it.snap)
	// The common case, a new file, is one openat below its directory's
	// descriptor; only when something is in the way are the overwrite
	// rules consulted.
	dir, name := path.Dir(it.rel), path.Base(it.rel)
	f, err := dirs.create(dir, name)
	if errors.Is(err, fs.ErrExist) {
		if r.skipExisting(root, it) {
			r.mu.Lock()
			r.sum.FilesSkipped++
			r.mu.Unlock()
			r.Progress.FilesDone.Add(1)
			r.Progress.BytesDone.Add(it.node.Size)
			return nil
		}
		if !r.prepare(root, it) {
			return nil
		}
		f, err = dirs.create(dir, name)
	}
	if err != nil {
		r.opts.OnWarning(it.snap, fmt.Errorf("create file: %w", err))
		r.fail(it.snap)
		return nil
	}
	written, err := r.writeContent(ctx, f, it.node)
	timesSet := false
	if err == nil {
		timesSet = r.setFileMeta(f, it)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && !timesSet {
		atime := it.node.AccessTime
		if atime.IsZero() {
			atime = it.node.ModTime
		}
		if terr := root.Chtimes(it.rel, atime, it.node.ModTime); terr != nil {
			r.opts.OnWarning(it.snap, fmt.Errorf("restore times: %w", terr))
		}
	}
	if err != nil {
		_ = root.Remove(it.rel) // never leave wrong or partial bytes behind
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.opts.OnWarning(it.snap, fmt.Errorf("could not restore: %w", err))
		r.fail(it.snap)
		return nil
	}
	r.mu.Lock()
	r.sum.FilesRestored++
	r.sum.BytesWritten += written
	r.mu.Unlock()
	r.Progress.FilesDone.Add(1)
	return nil
}

// restoreFile is a regular file being restored, as the platform creates
// it (restorefd_*.go).
type restoreFile interface {
	io.WriterAt
	Truncate(size int64) error
	Close() error
}

func (r *Restorer) fail(p string) {
	r.mu.Lock()
	r.sum.Failed = append(r.sum.Failed, p)
	r.mu.Unlock()
}

// blobsPerFile bounds the blobs of one file loaded at once: enough to keep
// a network backend busy on a large file, few enough to bound memory.
const blobsPerFile = 4

// writeContent writes the file's blobs, several at once at their offsets;
// all-zero blobs become holes.
func (r *Restorer) writeContent(ctx context.Context, f restoreFile, n *Node) (uint64, error) {
	offsets := make([]int64, len(n.Content)+1)
	for i, id := range n.Content {
		size, ok := r.repo.BlobSize(blob.Handle{Type: blob.Data, ID: id})
		if !ok {
			return 0, fmt.Errorf("blob %v is not in the index", id.Short())
		}
		offsets[i+1] = offsets[i] + int64(size)
	}
	if uint64(offsets[len(n.Content)]) != n.Size {
		return 0, fmt.Errorf("content is %d bytes, the snapshot records %d", offsets[len(n.Content)], n.Size)
	}
	var written atomic.Uint64
	var tailWritten atomic.Bool // the last blob was written, so the size is right without truncating
	write := func(ctx context.Context, i int, id blob.ID) error {
		buf := r.bufs.Get(int(offsets[i+1] - offsets[i]))
		defer r.bufs.Put(buf)
		data, err := r.load(ctx, blob.Handle{Type: blob.Data, ID: id}, buf)
		if err != nil {
			return err
		}
		if int64(len(data)) != offsets[i+1]-offsets[i] {
			return fmt.Errorf("blob %v has %d bytes, the index records %d", id.Short(), len(data), offsets[i+1]-offsets[i])
		}
		if !allZero(data) {
			if _, err := f.WriteAt(data, offsets[i]); err != nil {
				return err
			}
			written.Add(uint64(len(data)))
			if i == len(n.Content)-1 {
				tailWritten.Store(true)
			}
		}
		r.Progress.BytesDone.Add(uint64(len(data)))
		return nil
	}
	if len(n.Content) == 1 {
		// Most files are one blob: no goroutines needed.
		if err := write(ctx, 0, n.Content[0]); err != nil {
			return written.Load(), err
		}
	} else {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(blobsPerFile)
		for i, id := range n.Content {
			g.Go(func() error { return write(gctx, i, id) })
		}
		if err := g.Wait(); err != nil {
			return written.Load(), err
		}
	}
	if len(n.Content) > 0 && tailWritten.Load() {
		return written.Load(), nil
	}
	return written.Load(), f.Truncate(offsets[len(n.Content)])
}

// load reads a blob, into buf's array when the repository can
// (BlobIntoLoader).
func (r *Restorer) load(ctx context.Context, h blob.Handle, buf []byte) ([]byte, error) {
	if l, ok := r.repo.(BlobIntoLoader); ok {
		return l.LoadBlobInto(ctx, h, buf)
	}
	return r.repo.LoadBlob(ctx, h)
}

var zeros = make([]byte, 64<<10)

func allZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeros))
		if !bytes.Equal(b[:n], zeros[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// verify re-reads every restored file and compares it with its blobs.
func (r *Restorer) verify(ctx context.Context, root *os.Root, files []item) error {
	failed := map[string]bool{}
	for _, p := range r.sum.Failed {
		failed[p] = true
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Workers)
	var verified atomic.Uint64
	for _, it := range files {
		if failed[it.snap] {
			continue
		}
		g.Go(func() error {
			if err := r.verifyFile(gctx, root, it); err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				r.opts.OnWarning(it.snap, fmt.Errorf("verify: %w", err))
				r.fail(it.snap)
				return nil
			}
			verified.Add(1)
			return nil
		})
	}
	err := g.Wait()
	r.sum.Verified = verified.Load()
	return err
}

func (r *Restorer) verifyFile(ctx context.Context, root *os.Root, it item) error {
	f, err := root.Open(it.rel)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	var buf []byte
	for i, id := range it.node.Content {
		if err := ctx.Err(); err != nil {
			return err
		}
		size, ok := r.repo.BlobSize(blob.Handle{Type: blob.Data, ID: id})
		if !ok {
			return fmt.Errorf("blob %v is not in the index", id.Short())
		}
		if cap(buf) < int(size) {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		if _, err := io.ReadFull(f, buf); err != nil {
			return fmt.Errorf("chunk %d: %w", i, err)
		}
		if r.repo.BlobID(buf) != id {
			return fmt.Errorf("chunk %d differs from the snapshot", i)
		}
	}
	if n, _ := f.Read(make([]byte, 1)); n != 0 {
		return errors.New("file is longer than in the snapshot")
	}
	return nil
}

// deleteExtra removes (or, in a dry run, counts) every entry below the
// target that the plan does not restore, and every entry whose type is
// not the plan's (a directory where the plan has a file, a link or a
// device; anything else where it has a directory), so that the restore
// that follows makes the target equal the snapshot. The walk does not
// follow symlinks, and removal goes through the os.Root, so nothing
// outside the target is touched.
func (r *Restorer) deleteExtra(ctx context.Context, root *os.Root, p *plan) error {
	wantDir := map[string]bool{}
	for _, list := range [][]item{p.dirs, p.files, p.links, p.hardlinks} {
		for _, it := range list {
			wantDir[it.rel] = it.node.Type == TypeDir
		}
	}
	type removal struct {
		rel      string
		replaced bool
	}
	var gone []removal
	err := fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		dir, planned := wantDir[rel]
		if rel == "." || (planned && dir == d.IsDir()) {
			return nil
		}
		gone = append(gone, removal{rel, planned})
		if d.IsDir() {
			return fs.SkipDir // removed whole
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list the target for --delete: %w", err)
	}
	for _, g := range gone {
		if !r.opts.DryRun {
			if err := root.RemoveAll(g.rel); err != nil {
				r.opts.OnWarning(g.rel, fmt.Errorf("delete: %w", err))
				r.fail(g.rel)
				continue
			}
		}
		r.mu.Lock()
		if g.replaced {
			r.sum.Replaced++
		} else {
			r.sum.Deleted++
		}
		r.mu.Unlock()
		switch {
		case g.replaced && r.opts.OnReplace != nil:
			r.opts.OnReplace(g.rel)
		case !g.replaced && r.opts.OnDelete != nil:
			r.opts.OnDelete(g.rel)
		}
	}
	return nil
}
