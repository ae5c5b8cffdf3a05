package engine

import (
	"context"
	"fmt"
	"path"
	"slices"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/snapshot"
)

// DiffStats counts the changes between two trees.
type DiffStats struct {
	Added, Removed, Modified, MetadataChanged, TypeChanged uint64
	AddedBytes, RemovedBytes                               uint64
}

// Change is one difference: Modifier is "+" (added), "-" (removed), "M"
// (content or link target changed), "T" (type changed) or "U" (metadata
// only); Node is the entry in the second tree, or in the first when it
// was removed.
type Change struct {
	Modifier string
	Path     string
	Node     *snapshot.Node
}

// DiffOptions configure Diff.
type DiffOptions struct {
	// Metadata reports entries whose metadata alone changed (U).
	Metadata bool
	// OnChange is told about each change, in path order; an error stops
	// the comparison.
	OnChange func(Change) error
	// OnError is told about trees that could not be read and names that
	// are refused; the comparison goes on past them.
	OnError snapshot.OnWalkError
}

// Diff compares the trees a and b, reporting each change and returning
// the totals. Unchanged subtrees (same ID) are not read.
func Diff(ctx context.Context, l snapshot.BlobLoader, a, b blob.ID, opts DiffOptions) (DiffStats, error) {
	if opts.OnChange == nil {
		opts.OnChange = func(Change) error { return nil }
	}
	if opts.OnError == nil {
		opts.OnError = func(string, error) {}
	}
	d := &differ{l: l, opts: opts}
	err := d.trees(ctx, a, b, "/")
	return d.stats, err
}

type differ struct {
	l     snapshot.BlobLoader
	opts  DiffOptions
	stats DiffStats
}

func (d *differ) emit(kind, p string, n *snapshot.Node) error {
	return d.opts.OnChange(Change{Modifier: kind, Path: p, Node: n})
}

// all reports n and, for a directory, everything below it as kind.
func (d *differ) all(ctx context.Context, kind, p string, n *snapshot.Node) error {
	count := func(n *snapshot.Node) {
		var size uint64
		if n.Type == snapshot.TypeFile {
			size = n.Size // a directory's size is its file system's bookkeeping, not data
		}
		if kind == "+" {
			d.stats.Added++
			d.stats.AddedBytes += size
		} else {
			d.stats.Removed++
			d.stats.RemovedBytes += size
		}
	}
	count(n)
	if err := d.emit(kind, p, n); err != nil || n.Type != snapshot.TypeDir {
		return err
	}
	return snapshot.Walk(ctx, d.l, n.Subtree, p, d.opts.OnError, func(cp string, c *snapshot.Node) error {
		count(c)
		return d.emit(kind, cp, c)
	})
}

func metaEqual(a, b *snapshot.Node) bool {
	return a.Mode == b.Mode && a.UID == b.UID && a.GID == b.GID && a.ModTime.Equal(b.ModTime) &&
		a.LinkTarget == b.LinkTarget && a.Rdev == b.Rdev && slices.EqualFunc(a.Xattrs, b.Xattrs, func(x, y snapshot.Xattr) bool {
		return x.Name == y.Name && string(x.Value) == string(y.Value)
	})
}

func (d *differ) trees(ctx context.Context, a, b blob.ID, dir string) error {
	if a == b {
		return nil
	}
	ta, err := d.tree(ctx, a, dir)
	if err != nil {
		return err
	}
	tb, err := d.tree(ctx, b, dir)
	if err != nil {
		return err
	}
	if ta == nil || tb == nil {
		return nil // reported; the rest of the snapshots is still compared
	}
	i, j := 0, 0
	for i < len(ta.Nodes) || j < len(tb.Nodes) {
		switch {
		case j == len(tb.Nodes) || i < len(ta.Nodes) && ta.Nodes[i].Name < tb.Nodes[j].Name:
			if err := d.all(ctx, "-", path.Join(dir, ta.Nodes[i].Name), &ta.Nodes[i]); err != nil {
				return err
			}
			i++
		case i == len(ta.Nodes) || tb.Nodes[j].Name < ta.Nodes[i].Name:
			if err := d.all(ctx, "+", path.Join(dir, tb.Nodes[j].Name), &tb.Nodes[j]); err != nil {
				return err
			}
			j++
		default:
			if err := d.node(ctx, path.Join(dir, ta.Nodes[i].Name), &ta.Nodes[i], &tb.Nodes[j]); err != nil {
				return err
			}
			i++
			j++
		}
	}
	return nil
}

// tree loads a tree and drops entries with unsafe names. A tree that
// cannot be read is reported and yields nil; only cancellation is an error.
func (d *differ) tree(ctx context.Context, id blob.ID, dir string) (*snapshot.Tree, error) {
	t, err := snapshot.LoadTree(ctx, d.l, id)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		d.opts.OnError(dir, fmt.Errorf("could not read directory: %w", err))
		return nil, nil
	}
	nodes := t.Nodes[:0:0]
	for _, n := range t.Nodes {
		if why := snapshot.ValidName(n.Name); why != "" {
			d.opts.OnError(snapshot.UnsafePath(dir, n.Name), fmt.Errorf("%w: %s", snapshot.ErrUnsafeName, why))
			continue
		}
		nodes = append(nodes, n)
	}
	t.Nodes = nodes
	return t, nil
}

func (d *differ) node(ctx context.Context, p string, na, nb *snapshot.Node) error {
	switch {
	case na.Type != nb.Type:
		d.stats.TypeChanged++
		return d.emit("T", p, nb)
	case na.Type == snapshot.TypeDir:
		if d.opts.Metadata && !metaEqual(na, nb) {
			d.stats.MetadataChanged++
			if err := d.emit("U", p, nb); err != nil {
				return err
			}
		}
		return d.trees(ctx, na.Subtree, nb.Subtree, p)
	case !slices.Equal(na.Content, nb.Content) || na.LinkTarget != nb.LinkTarget:
		d.stats.Modified++
		d.stats.AddedBytes += nb.Size
		d.stats.RemovedBytes += na.Size
		return d.emit("M", p, nb)
	case d.opts.Metadata && !metaEqual(na, nb):
		d.stats.MetadataChanged++
		return d.emit("U", p, nb)
	}
	return nil
}
