package engine

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
)

// FindNode walks from the snapshot's root to sub ("" or "/" for the root)
// and returns the node there. A name along the way is looked up as given:
// names restore would refuse are never matched, since sub is a clean path.
func FindNode(ctx context.Context, l snapshot.BlobLoader, s *snapshot.Snapshot, sub string) (*snapshot.Node, error) {
	n := &snapshot.Node{Name: "", Type: snapshot.TypeDir, Subtree: s.Tree}
	for _, c := range strings.Split(strings.Trim(path.Clean("/"+sub), "/"), "/") {
		if c == "" {
			continue
		}
		if n.Type != snapshot.TypeDir {
			return nil, fmt.Errorf("%s: not a directory in snapshot %s", sub, s.ID.Short())
		}
		tree, err := snapshot.LoadTree(ctx, l, n.Subtree)
		if err != nil {
			return nil, err
		}
		if n = tree.Find(c); n == nil {
			return nil, fmt.Errorf("%s: no such path in snapshot %s", sub, s.ID.Short())
		}
	}
	return n, nil
}

// RestorePackCache is the memory a restore gives to whole packs: two
// packs of the default 16 MiB. A file's chunks sit together in a few
// packs, so reading whole packs once beats a range request per blob,
// above all on S3; the restore's plan tells the cache which packs it will
// read again (repo.PlanReads), so few are enough.
const RestorePackCache = 32 << 20

// RestoreOptions say what a restore writes where.
type RestoreOptions struct {
	snapshot.RestoreOptions
	// SubPath restores only that directory's contents (or that one file);
	// "" or "/" restores the whole snapshot.
	SubPath string
	// Target is the directory restored into; it is created if missing.
	Target string
	// PackCache is the memory given to whole packs (RestorePackCache
	// when 0; negative: none).
	PackCache int64
	// GovernMemory keeps the Go runtime's soft memory limit at what the
	// restore needs while it runs (see GovernMemory): for a process that
	// does nothing else.
	GovernMemory bool
}

// Restore is one restore, prepared by NewRestore and started by Run.
type Restore struct {
	r    *repo.Repository
	s    *snapshot.Snapshot
	opts RestoreOptions
	res  *snapshot.Restorer
}

// NewRestore prepares a restore of s from r, which must hold a lock.
func NewRestore(r *repo.Repository, s *snapshot.Snapshot, opts RestoreOptions) *Restore {
	opts.SubPath = path.Clean("/" + opts.SubPath)
	return &Restore{r: r, s: s, opts: opts, res: snapshot.NewRestorer(r, opts.RestoreOptions)}
}

// Progress is updated while the restore runs.
func (x *Restore) Progress() *snapshot.Progress { return &x.res.Progress }

// Run restores. From remote storage it reads whole packs through a
// RestorePackCache cache; from a local disk blob by blob.
// The summary is never nil once the subpath was found: when the restore
// fails part-way or ctx ends, it counts what was really written, and the
// error says why it stopped (see snapshot.Restorer.Restore).
func (x *Restore) Run(ctx context.Context) (*snapshot.RestoreSummary, error) {
	node, err := FindNode(ctx, x.r, x.s, x.opts.SubPath)
	if err != nil {
		return nil, err
	}
	cache := x.opts.PackCache
	switch {
	case cache != 0:
	case x.r.LocalStorage():
		// From a local disk a blob is one read of the page cache: holding
		// whole packs would only cost memory (measured on the linux
		// tree: 160-170 MB with the cache, 110-115 MB without, at the
		// same speed).
		cache = -1
	default:
		cache = RestorePackCache
	}
	if cache > 0 {
		x.r.SetPackCache(cache)
		defer x.r.SetPackCache(0)
	}
	if x.opts.GovernMemory {
		defer GovernMemory(max(cache, 0) + 32<<20)()
	}
	return x.res.Restore(ctx, node, x.opts.SubPath, x.opts.Target)
}
