package main

import (
	"context"
	"time"

	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

func newFindCmd(g *globals) *cobra.Command {
	var f snapFilter
	var ignoreCase, long, byBlob, byTree, byPack, showPack bool
	var snapRefs []string
	var oldest, newest string
	cmd := &cobra.Command{
		Use:   "find PATTERN...",
		Short: "Find which snapshots hold files matching a pattern",
		Long: `Search every snapshot (narrowed by --host, --tag, --path and --snapshot)
for entries whose name matches one of the patterns, or, for a pattern
containing "/", whose absolute path matches it ("**" spans directories).
--oldest and --newest bound the entries' modification times.

With --blob, --tree or --pack the patterns are ID prefixes instead: find
the files holding those data blobs, the directories with those tree IDs,
or the files with data in those packs (--show-pack-id names the packs).`,
		Example: `  cairn find '*.sqlite'
  cairn find --ignore-case 'readme*'
  cairn find '/home/*/projects/**/go.mod' --json
  cairn find --newest "2026-01-31" --oldest "2026-01-01" '*.pdf'
  cairn find --blob 5e0b41c2 --show-pack-id
  cairn find --pack fb1c7168`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			q, err := engine.ParseFind(engine.FindRequest{Patterns: args, IgnoreCase: ignoreCase, ByBlob: byBlob, ByTree: byTree,
				ByPack: byPack, ShowPack: showPack, Oldest: oldest, Newest: newest})
			if err != nil {
				return err
			}
			r, err := g.openRepo(ctx)
			if err != nil {
				return err
			}
			snaps, err := f.pick(ctx, r, snapRefs)
			if err != nil {
				return err
			}
			results := []message.FindResult{}
			dmg := &damage{g: g, during: "find"}
			for _, s := range snaps {
				matches, err := findIn(ctx, g, r, s, q, long, dmg)
				if err != nil {
					return err
				}
				if len(matches) > 0 {
					results = append(results, message.FindResult{Snapshot: s.ID.String(), Matches: matches, Hits: len(matches)})
				}
			}
			if g.json {
				if err := g.printJSON(results); err != nil {
					return err
				}
			}
			return dmg.err()
		},
	}
	f.addFlags(cmd.Flags())
	cmd.Flags().BoolVarP(&ignoreCase, "ignore-case", "i", false, "match without regard to case")
	cmd.Flags().BoolVarP(&long, "long", "l", false, "show mode, owner, size and time")
	cmd.Flags().StringArrayVarP(&snapRefs, "snapshot", "s", nil, "search only snapshot `ID` (repeatable)")
	cmd.Flags().StringVarP(&oldest, "oldest", "O", "", "only entries modified at or after `time` (\"2006-01-02 15:04:05\")")
	cmd.Flags().StringVarP(&newest, "newest", "N", "", "only entries modified at or before `time`")
	cmd.Flags().BoolVar(&byBlob, "blob", false, "patterns are data blob ID prefixes")
	cmd.Flags().BoolVar(&byTree, "tree", false, "patterns are tree ID prefixes")
	cmd.Flags().BoolVar(&byPack, "pack", false, "patterns are pack ID prefixes")
	cmd.Flags().BoolVar(&showPack, "show-pack-id", false, "with --blob or --pack, name the pack of each match")
	return cmd
}

// findIn walks snapshot s, printing its matches as text (or, with --json,
// returning them); damaged trees go to dmg and the walk goes on.
func findIn(ctx context.Context, g *globals, r *repo.Repository, s *snapshot.Snapshot, q *engine.FindQuery, long bool, dmg *damage) ([]message.Node, error) {
	var matches []message.Node
	header := false
	err := engine.FindIn(ctx, r, r.Index(), s, q, dmg.report, func(p string, n *snapshot.Node, extra string) error {
		if g.json {
			matches = append(matches, nodeJSON(p, n))
			return nil
		}
		if !header {
			g.printf("Found matching entries in snapshot %s from %s\n", s.ID.Short(), s.Time.Local().Format(time.DateTime))
			header = true
		}
		if long {
			g.printf("%s%s\n", longLine(p, n), extra)
		} else {
			g.printf("%s%s\n", p, extra)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if header {
		g.printf("\n")
	}
	return matches, nil
}
