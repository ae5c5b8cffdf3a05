package main

import (
	"context"
	"fmt"
	"path"
	"slices"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

type diffStats struct {
	Added, Removed, Modified, MetadataChanged, TypeChanged uint64
	AddedBytes, RemovedBytes                               uint64
}

type differ struct {
	g        *globals
	r        *repo.Repository
	metadata bool
	stats    diffStats
	dmg      *damage // trees that could not be read, names refused
}

func (d *differ) emit(kind, p string, n *snapshot.Node) error {
	if d.g.json {
		return d.g.printJSON(map[string]any{"message_type": "change", "path": p, "modifier": kind, "type": n.Type.String()})
	}
	if n.Type == snapshot.TypeDir {
		p += "/"
	}
	d.g.printf("%-4s %s\n", kind, p)
	return nil
}

// all reports n and, for a directory, everything below it as kind.
func (d *differ) all(ctx context.Context, kind, p string, n *snapshot.Node) error {
	count := func(n *snapshot.Node) {
		if kind == "+" {
			d.stats.Added++
			d.stats.AddedBytes += n.Size
		} else {
			d.stats.Removed++
			d.stats.RemovedBytes += n.Size
		}
	}
	count(n)
	if err := d.emit(kind, p, n); err != nil || n.Type != snapshot.TypeDir {
		return err
	}
	return snapshot.Walk(ctx, d.r, n.Subtree, p, d.dmg.report, func(cp string, c *snapshot.Node) error {
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
	t, err := snapshot.LoadTree(ctx, d.r, id)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		d.dmg.report(dir, fmt.Errorf("could not read directory: %w", err))
		return nil, nil
	}
	nodes := t.Nodes[:0:0]
	for _, n := range t.Nodes {
		if why := snapshot.ValidName(n.Name); why != "" {
			d.dmg.report(snapshot.UnsafePath(dir, n.Name), fmt.Errorf("%w: %s", snapshot.ErrUnsafeName, why))
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
		if d.metadata && !metaEqual(na, nb) {
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
	case d.metadata && !metaEqual(na, nb):
		d.stats.MetadataChanged++
		return d.emit("U", p, nb)
	}
	return nil
}

func newDiffCmd(g *globals) *cobra.Command {
	var metadata bool
	cmd := &cobra.Command{
		Use:   "diff SNAPSHOT-A SNAPSHOT-B",
		Short: "Show what changed between two snapshots",
		Long: `List paths added (+), removed (-), modified (M), changed in type (T) and,
with --metadata, changed only in metadata (U), followed by totals.`,
		Example: `  cairn diff 3f2a9c1b latest
  cairn diff --metadata 3f2a9c1b 8d7e6f5a --json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			r, err := g.openRepo(ctx)
			if err != nil {
				return err
			}
			snaps, err := r.Snapshots(ctx)
			if err != nil {
				return err
			}
			a, err := repo.FindSnapshot(snaps, args[0])
			if err != nil {
				return err
			}
			b, err := repo.FindSnapshot(snaps, args[1])
			if err != nil {
				return err
			}
			d := &differ{g: g, r: r, metadata: metadata, dmg: &damage{g: g, during: "diff"}}
			if err := d.trees(ctx, a.Tree, b.Tree, "/"); err != nil {
				return err
			}
			st := d.stats
			if g.json {
				if err := g.printJSON(map[string]any{"message_type": "statistics", "source_snapshot": a.ID.String(),
					"target_snapshot": b.ID.String(), "added": st.Added, "removed": st.Removed, "changed": st.Modified,
					"metadata_changed": st.MetadataChanged, "type_changed": st.TypeChanged,
					"added_bytes": st.AddedBytes, "removed_bytes": st.RemovedBytes}); err != nil {
					return err
				}
				return d.dmg.err()
			}
			g.printf("\nAdded:    %d entries, %s\nRemoved:  %d entries, %s\nModified: %d files\n",
				st.Added, ibytes(st.AddedBytes), st.Removed, ibytes(st.RemovedBytes), st.Modified)
			if metadata {
				g.printf("Metadata: %d entries\n", st.MetadataChanged)
			}
			return d.dmg.err()
		},
	}
	cmd.Flags().BoolVar(&metadata, "metadata", false, "also show entries whose metadata alone changed (U)")
	return cmd
}
