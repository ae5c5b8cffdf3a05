package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/chunk"
	"golang.org/x/sync/errgroup"
)

// BlobSaver stores blobs, deduplicating: known reports that the blob was
// already stored.
type BlobSaver interface {
	SaveBlob(ctx context.Context, t blob.Type, data []byte) (id blob.ID, known bool, err error)
}

// StoredSaver is implemented by savers that report the bytes a new blob
// takes in storage (compressed and sealed), for the summary's
// DataAddedPacked. Savers without it count the plaintext.
type StoredSaver interface {
	SaveBlobStored(ctx context.Context, t blob.Type, data []byte) (id blob.ID, known bool, stored int, err error)
}

// BlobLoader loads and verifies blobs.
type BlobLoader interface {
	LoadBlob(ctx context.Context, h blob.Handle) ([]byte, error)
}

// ArchiveRepo is what the Archiver needs from a repository.
type ArchiveRepo interface {
	BlobSaver
	BlobLoader
	HasBlob(h blob.Handle) bool
}

// ArchiverOptions configure a backup.
type ArchiverOptions struct {
	Chunker          chunk.Params
	Filter           *Filter  // excluded paths; nil excludes nothing
	ExcludeCaches    bool     // skip directories holding a valid CACHEDIR.TAG
	ExcludeIfPresent []string // skip directories holding a file of one of these names
	OneFileSystem    bool     // do not cross filesystem boundaries below the given paths
	// ExcludeLargerThan, if > 0, leaves out regular files larger than this
	// many bytes (below the given paths; a path given is always read).
	ExcludeLargerThan int64
	// IgnoreCtime and IgnoreInode leave the change time and the inode
	// number out of the test for an unchanged file (filesystems that do
	// not keep them stable, such as some network mounts).
	IgnoreCtime, IgnoreInode bool
	// WithAtime records each entry's access time.
	WithAtime bool
	// OnFile, if set, is told about each file backed up: its path, whether
	// it was new, changed or unmodified (FileNew, FileChanged,
	// FileUnmodified) and its size. Calls may overlap.
	OnFile  func(path string, status FileStatus, size uint64)
	Workers int // files read concurrently; 0 means 2×GOMAXPROCS
	// OnError is told about each file or directory that could not be read;
	// the backup goes on without it. Calls never overlap.
	OnError func(path string, err error)
	Now     func() time.Time
}

// FileStatus says how a backed-up file compares with the parent snapshot.
type FileStatus string

// The file statuses OnFile reports.
const (
	FileNew        FileStatus = "new"
	FileChanged    FileStatus = "modified"
	FileUnmodified FileStatus = "unmodified"
)

// Progress is updated while the archiver runs; read it from any goroutine.
type Progress struct {
	FilesDone atomic.Uint64
	BytesDone atomic.Uint64
	// TotalFiles and TotalBytes are what a restore will write, set once
	// it has planned (Planned); backups leave them zero.
	TotalFiles atomic.Uint64
	TotalBytes atomic.Uint64
	Planned    atomic.Bool
	current    atomic.Pointer[string]
}

// Current returns a file being read now.
func (p *Progress) Current() string {
	if s := p.current.Load(); s != nil {
		return *s
	}
	return ""
}

// Archiver makes trees from files on disk.
type Archiver struct {
	repo     ArchiveRepo
	opts     ArchiverOptions
	names    idNames
	Progress Progress

	mu  sync.Mutex // guards sum
	sum Summary

	// saving bounds the chunks in flight (being read, then saved) across
	// all files, one per core, so memory does not grow with the number
	// of file workers.
	saving chan struct{}
	// chunks recycles chunk buffers: each chunk in flight (read, then
	// saved) holds one, and saving bounds those to one per core.
	chunks *blob.Buffers
}

// NewArchiver returns an archiver saving into repo.
func NewArchiver(repo ArchiveRepo, opts ArchiverOptions) *Archiver {
	if opts.Workers <= 0 {
		opts.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OnError == nil {
		opts.OnError = func(string, error) {}
	}
	opts.OnError = serialize(opts.OnError)
	n := runtime.GOMAXPROCS(0)
	return &Archiver{repo: repo, opts: opts, saving: make(chan struct{}, n),
		chunks: blob.NewBuffers(n, 1<<20, 4<<20)}
}

// serialize makes calls of fn from many goroutines take turns.
func serialize(fn func(string, error)) func(string, error) {
	var mu sync.Mutex
	return func(p string, err error) {
		mu.Lock()
		defer mu.Unlock()
		fn(p, err)
	}
}

// future is a node that is ready once done is closed. A nil node means the
// entry is left out (excluded, vanished or unreadable).
type future struct {
	done chan struct{}
	node *Node
}

func resolved(n *Node) *future {
	f := &future{done: make(chan struct{}), node: n}
	close(f.done)
	return f
}

type fileJob struct {
	path   string
	node   *Node
	parent *Node // the same file in the parent snapshot, if any
	fut    *future
}

// vdir is a directory on the way from "/" to the paths being backed up.
type vdir struct {
	children map[string]*vdir
	full     bool // a path given by the user: back up everything below
}

// CleanPaths makes paths absolute and clean, sorts them and drops those
// inside another.
func CleanPaths(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		out = append(out, filepath.ToSlash(abs))
	}
	sort.Strings(out)
	var kept []string
	for _, p := range out {
		if len(kept) > 0 {
			last := kept[len(kept)-1]
			if p == last || strings.HasPrefix(p, strings.TrimSuffix(last, "/")+"/") {
				continue
			}
		}
		kept = append(kept, p)
	}
	return kept, nil
}

// Run backs up paths (already cleaned by CleanPaths) and returns the root
// tree. parent is the root tree of the parent snapshot, or zero: files
// unchanged since it are not read again.
func (a *Archiver) Run(ctx context.Context, paths []string, parent blob.ID) (blob.ID, *Summary, error) {
	start := a.opts.Now()
	root := &vdir{}
	for _, p := range paths {
		if _, err := os.Lstat(p); err != nil {
			return blob.ID{}, nil, fmt.Errorf("backup path: %w", err)
		}
		v := root
		for _, c := range strings.Split(strings.Trim(p, "/"), "/") {
			if c == "" {
				continue
			}
			if v.children == nil {
				v.children = map[string]*vdir{}
			}
			if v.children[c] == nil {
				v.children[c] = &vdir{}
			}
			v = v.children[c]
		}
		v.full = true
	}
	var parentRoot *Node
	if !parent.IsZero() {
		parentRoot = &Node{Type: TypeDir, Subtree: parent}
	}
	g, gctx := errgroup.WithContext(ctx)
	jobs := make(chan *fileJob)
	for i := 0; i < a.opts.Workers; i++ {
		g.Go(func() error { return a.fileWorker(gctx, jobs) })
	}
	var rootFut *future
	g.Go(func() error {
		defer close(jobs)
		var err error
		rootFut, err = a.walkVirtual(gctx, g, "/", "", root, parentRoot, jobs)
		return err
	})
	if err := g.Wait(); err != nil {
		return blob.ID{}, nil, err
	}
	<-rootFut.done
	if rootFut.node == nil {
		return blob.ID{}, nil, errors.New("nothing to back up: every path was excluded or unreadable")
	}
	sum := a.summary(start)
	return rootFut.node.Subtree, sum, nil
}

func (a *Archiver) summary(start time.Time) *Summary {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sum
	s.BackupStart, s.BackupEnd = start, a.opts.Now()
	return &s
}

func (a *Archiver) count(fn func(s *Summary)) {
	a.mu.Lock()
	fn(&a.sum)
	a.mu.Unlock()
}

func (a *Archiver) walkVirtual(ctx context.Context, g *errgroup.Group, p, name string, v *vdir, parent *Node, jobs chan<- *fileJob) (*future, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, fmt.Errorf("backup path: %w", err)
	}
	if v.full {
		return a.walkEntry(ctx, g, p, name, fi, parent, jobs, deviceOf(fi))
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		// A directory above a backup path may be reached through a
		// symlink (/home -> /data/home), as in restic: the snapshot
		// stores the path as given, with the directory the link leads to.
		if fi, err = os.Stat(p); err != nil {
			return nil, fmt.Errorf("backup path: %w", err)
		}
	}
	node := a.names.nodeFromInfo(name, fi)
	if node.Type != TypeDir {
		return nil, fmt.Errorf("%s is not a directory", p)
	}
	parentTree := a.loadParentTree(ctx, parent)
	names := make([]string, 0, len(v.children))
	for c := range v.children {
		names = append(names, c)
	}
	sort.Strings(names)
	var children []*future
	for _, c := range names {
		f, err := a.walkVirtual(ctx, g, path.Join(p, c), c, v.children[c], parentTree.Find(c), jobs)
		if err != nil {
			return nil, err
		}
		children = append(children, f)
	}
	return a.finishDir(ctx, g, &node, parent, children), nil
}

func deviceOf(fi fs.FileInfo) uint64 {
	if st, ok := statOf(fi); ok {
		return st.dev
	}
	return 0
}

// loadParentTree returns the parent's subtree, or an empty tree.
func (a *Archiver) loadParentTree(ctx context.Context, parent *Node) *Tree {
	if parent == nil || parent.Type != TypeDir {
		return &Tree{}
	}
	t, err := LoadTree(ctx, a.repo, parent.Subtree)
	if err != nil {
		return &Tree{}
	}
	return t
}

func (a *Archiver) walkEntry(ctx context.Context, g *errgroup.Group, p, name string, fi fs.FileInfo, parent *Node, jobs chan<- *fileJob, dev uint64) (*future, error) {
	node := a.names.nodeFromInfo(name, fi)
	if node.Type == 0 {
		return resolved(nil), nil
	}
	if a.opts.WithAtime {
		node.AccessTime = accessTime(fi)
	}
	if node.Type != TypeSymlink {
		x, err := readXattrs(p)
		if err != nil {
			a.opts.OnError(p, fmt.Errorf("read extended attributes: %w", err))
		}
		node.Xattrs = x
	}
	switch node.Type {
	case TypeDir:
		return a.walkDir(ctx, g, p, &node, parent, jobs, dev), nil
	case TypeSymlink:
		target, err := os.Readlink(p)
		if err != nil {
			a.opts.OnError(p, err)
			return resolved(nil), nil
		}
		node.LinkTarget = target
		return resolved(&node), nil
	case TypeFile:
		if a.unchanged(&node, parent) {
			node.Content = parent.Content
			a.count(func(s *Summary) {
				s.FilesUnmodified++
				s.TotalFilesProcessed++
				s.TotalBytesProcessed += node.Size
			})
			if a.opts.OnFile != nil {
				a.opts.OnFile(p, FileUnmodified, node.Size)
			}
			a.Progress.FilesDone.Add(1)
			a.Progress.BytesDone.Add(node.Size)
			return resolved(&node), nil
		}
		job := &fileJob{path: p, node: &node, parent: parent, fut: &future{done: make(chan struct{})}}
		select {
		case jobs <- job:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return job.fut, nil
	}
	return resolved(&node), nil
}

// unchanged reports whether a file can be taken from the parent snapshot
// without reading it: same type, size, mtime, ctime and inode, and all its
// content still indexed.
func (a *Archiver) unchanged(n, p *Node) bool {
	if p == nil || p.Type != TypeFile || n.Size != p.Size || !n.ModTime.Equal(p.ModTime) ||
		(!a.opts.IgnoreCtime && !n.ChangeTime.Equal(p.ChangeTime)) || (!a.opts.IgnoreInode && n.Inode != p.Inode) {
		return false
	}
	for _, id := range p.Content {
		if !a.repo.HasBlob(blob.Handle{Type: blob.Data, ID: id}) {
			return false
		}
	}
	return true
}

const cacheDirTag = "Signature: 8a477f597d28d172789f06886806bc55"

// skipDir reports whether a directory is excluded by its contents.
func (a *Archiver) skipDir(p string) bool {
	if a.opts.ExcludeCaches {
		if f, err := os.Open(path.Join(p, "CACHEDIR.TAG")); err == nil {
			buf := make([]byte, len(cacheDirTag))
			_, err := io.ReadFull(f, buf)
			_ = f.Close()
			if err == nil && string(buf) == cacheDirTag {
				return true
			}
		}
	}
	for _, name := range a.opts.ExcludeIfPresent {
		if _, err := os.Lstat(path.Join(p, name)); err == nil {
			return true
		}
	}
	return false
}

func (a *Archiver) walkDir(ctx context.Context, g *errgroup.Group, p string, node *Node, parent *Node, jobs chan<- *fileJob, dev uint64) *future {
	entries, err := os.ReadDir(p)
	if err != nil {
		a.opts.OnError(p, err)
		a.count(func(s *Summary) { s.ErrorCount++ })
	}
	parentTree := a.loadParentTree(ctx, parent)
	var children []*future
	for _, e := range entries {
		cp := path.Join(p, e.Name())
		fi, err := e.Info()
		if err != nil {
			a.opts.OnError(cp, err)
			a.count(func(s *Summary) { s.ErrorCount++ })
			continue
		}
		isDir := fi.IsDir()
		if a.opts.Filter.Match(cp, isDir) {
			continue
		}
		if a.opts.ExcludeLargerThan > 0 && fi.Mode().IsRegular() && fi.Size() > a.opts.ExcludeLargerThan {
			continue
		}
		if isDir && ((a.opts.OneFileSystem && deviceOf(fi) != dev) || a.skipDir(cp)) {
			continue
		}
		f, err := a.walkEntry(ctx, g, cp, e.Name(), fi, parentTree.Find(e.Name()), jobs, dev)
		if err != nil {
			return resolved(nil) // ctx is cancelled; the error surfaces from g.Wait
		}
		children = append(children, f)
	}
	return a.finishDir(ctx, g, node, parent, children)
}

// finishDir waits for a directory's children in the background, then saves
// its tree.
func (a *Archiver) finishDir(ctx context.Context, g *errgroup.Group, node *Node, parent *Node, children []*future) *future {
	fut := &future{done: make(chan struct{})}
	g.Go(func() error {
		defer close(fut.done)
		tree := &Tree{}
		for _, c := range children {
			select {
			case <-c.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if c.node != nil {
				tree.Nodes = append(tree.Nodes, *c.node)
			}
		}
		tree.Sort()
		data := tree.Encode()
		id, known, stored, err := a.save(ctx, blob.Tree, data)
		if err != nil {
			return err
		}
		node.Subtree = id
		a.count(func(s *Summary) {
			if !known {
				s.TreeBlobs++
				s.DataAdded += uint64(len(data))
				s.DataAddedPacked += stored
			}
			switch {
			case parent == nil || parent.Type != TypeDir:
				s.DirsNew++
			case parent.Subtree == id:
				s.DirsUnmodified++
			default:
				s.DirsChanged++
			}
		})
		fut.node = node
		return nil
	})
	return fut
}

func (a *Archiver) fileWorker(ctx context.Context, jobs <-chan *fileJob) error {
	for job := range jobs {
		err := a.saveFile(ctx, job)
		close(job.fut.done)
		if err != nil {
			return err
		}
	}
	return nil
}

// errUnreadable marks per-file failures that leave the file out of the
// snapshot without stopping the backup.
type errUnreadable struct{ err error }

func (e errUnreadable) Error() string { return e.err.Error() }

func (a *Archiver) saveFile(ctx context.Context, job *fileJob) error {
	a.Progress.current.Store(&job.path)
	f, err := os.OpenFile(job.path, os.O_RDONLY|oNoAtime, 0)
	if err != nil {
		f, err = os.Open(job.path)
	}
	if err != nil {
		a.opts.OnError(job.path, err)
		a.count(func(s *Summary) { s.ErrorCount++ })
		return nil
	}
	defer func() { _ = f.Close() }()
	content, size, err := a.saveStream(ctx, f)
	var ue errUnreadable
	if errors.As(err, &ue) {
		a.opts.OnError(job.path, ue.err)
		a.count(func(s *Summary) { s.ErrorCount++ })
		return nil
	}
	if err != nil {
		return err
	}
	job.node.Content, job.node.Size = content, size
	job.fut.node = job.node
	a.count(func(s *Summary) {
		if job.parent != nil && job.parent.Type == TypeFile {
			s.FilesChanged++
		} else {
			s.FilesNew++
		}
		s.TotalFilesProcessed++
		s.TotalBytesProcessed += size
	})
	if a.opts.OnFile != nil {
		status := FileNew
		if job.parent != nil && job.parent.Type == TypeFile {
			status = FileChanged
		}
		a.opts.OnFile(job.path, status, size)
	}
	a.Progress.FilesDone.Add(1)
	return nil
}

// save stores a blob and reports its stored size when the saver can.
func (a *Archiver) save(ctx context.Context, t blob.Type, data []byte) (blob.ID, bool, uint64, error) {
	if s, ok := a.repo.(StoredSaver); ok {
		id, known, stored, err := s.SaveBlobStored(ctx, t, data)
		return id, known, uint64(stored), err
	}
	id, known, err := a.repo.SaveBlob(ctx, t, data)
	return id, known, uint64(len(data)), err
}

// saveStream chunks rd and saves every chunk. Chunks of one stream are
// hashed, compressed, sealed and packed by up to GOMAXPROCS goroutines
// while the next ones are read, so one large file keeps every core busy.
// Read errors are returned as errUnreadable; repository errors as they are.
func (a *Archiver) saveStream(ctx context.Context, rd io.Reader) ([]blob.ID, uint64, error) {
	c := a.opts.Chunker.New(rd)
	defer c.Release()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	var slots []*blob.ID
	var size uint64
	var readErr error
	for gctx.Err() == nil {
		// A chunk takes its place among those in flight before it is
		// read: no more chunk buffers exist than a.saving has room for,
		// whatever the number of files read at once.
		select {
		case a.saving <- struct{}{}:
		case <-gctx.Done():
			continue
		}
		// The chunk is read straight into a buffer the saving goroutine
		// then owns: no copy, and no more buffers than the list keeps
		// plus the few larger chunks it drops.
		buf, err := c.NextInto(a.chunks.Get(0))
		if errors.Is(err, io.EOF) {
			a.chunks.Put(buf)
			<-a.saving
			break
		}
		if err != nil {
			a.chunks.Put(buf)
			<-a.saving
			readErr = errUnreadable{err}
			break
		}
		slot := new(blob.ID)
		slots = append(slots, slot)
		n := uint64(len(buf))
		size += n
		g.Go(func() error {
			defer func() { a.chunks.Put(buf); <-a.saving }()
			id, known, stored, err := a.save(gctx, blob.Data, buf)
			if err != nil {
				return err
			}
			*slot = id
			a.Progress.BytesDone.Add(n)
			a.count(func(s *Summary) {
				s.BytesRead += n
				if !known {
					s.DataBlobs++
					s.DataAdded += n
					s.DataAddedPacked += stored
				}
			})
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	if readErr != nil {
		return nil, 0, readErr
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	ids := make([]blob.ID, len(slots))
	for i, s := range slots {
		ids[i] = *s
	}
	return ids, size, nil
}

// SaveStream backs up the contents of rd as one file called name in an
// otherwise empty root directory, as for --stdin.
func (a *Archiver) SaveStream(ctx context.Context, name string, rd io.Reader) (blob.ID, *Summary, error) {
	if why := ValidName(name); why != "" {
		return blob.ID{}, nil, fmt.Errorf("stdin file name: %s", why)
	}
	start := a.opts.Now()
	content, size, err := a.saveStream(ctx, rd)
	var ue errUnreadable
	if errors.As(err, &ue) {
		return blob.ID{}, nil, fmt.Errorf("read standard input: %w", ue.err)
	}
	if err != nil {
		return blob.ID{}, nil, err
	}
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	now := start.UTC()
	node := Node{Name: name, Type: TypeFile, Mode: 0o644, UID: uid, GID: gid, User: a.names.user(uid),
		Group: a.names.group(gid), ModTime: now, ChangeTime: now, AccessTime: now, Size: size, Links: 1, Content: content}
	tree := &Tree{Nodes: []Node{node}}
	data := tree.Encode()
	id, known, stored, err := a.save(ctx, blob.Tree, data)
	if err != nil {
		return blob.ID{}, nil, err
	}
	a.count(func(s *Summary) {
		s.FilesNew++
		s.DirsNew++
		s.TotalFilesProcessed++
		s.TotalBytesProcessed += size
		if !known {
			s.TreeBlobs++
			s.DataAdded += uint64(len(data))
			s.DataAddedPacked += stored
		}
	})
	return id, a.summary(start), nil
}
