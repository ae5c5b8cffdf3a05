package main

import (
	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

// printChange prints one change as diff's text or JSON line.
func (g *globals) printChange(c engine.Change) error {
	if g.json {
		return g.printJSON(message.DiffChange{MessageType: "change", Path: c.Path, Modifier: c.Modifier, Type: c.Node.Type.String()})
	}
	p := c.Path
	if c.Node.Type == snapshot.TypeDir {
		p += "/"
	}
	g.printf("%-4s %s\n", c.Modifier, p)
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
			dmg := &damage{g: g, during: "diff"}
			st, err := engine.Diff(ctx, r, a.Tree, b.Tree, engine.DiffOptions{Metadata: metadata, OnChange: g.printChange, OnError: dmg.report})
			if err != nil {
				return err
			}
			if g.json {
				if err := g.printJSON(message.DiffStatistics{MessageType: "statistics", SourceSnapshot: a.ID.String(),
					TargetSnapshot: b.ID.String(), Added: st.Added, Removed: st.Removed, Changed: st.Modified,
					MetadataChanged: st.MetadataChanged, TypeChanged: st.TypeChanged,
					AddedBytes: st.AddedBytes, RemovedBytes: st.RemovedBytes}); err != nil {
					return err
				}
				return dmg.err()
			}
			g.printf("\nAdded:    %d entries, %s\nRemoved:  %d entries, %s\nModified: %d files\n",
				st.Added, ibytes(st.AddedBytes), st.Removed, ibytes(st.RemovedBytes), st.Modified)
			if metadata {
				g.printf("Metadata: %d entries\n", st.MetadataChanged)
			}
			return dmg.err()
		},
	}
	cmd.Flags().BoolVar(&metadata, "metadata", false, "also show entries whose metadata alone changed (U)")
	return cmd
}
