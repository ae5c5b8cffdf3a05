package main

import (
	"path"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

func newFindCmd(g *globals) *cobra.Command {
	var f snapFilter
	var ignoreCase, long bool
	cmd := &cobra.Command{
		Use:   "find PATTERN...",
		Short: "Find which snapshots hold files matching a pattern",
		Long: `Search every snapshot (narrowed by --host, --tag, --path) for entries whose
name matches one of the patterns, or, for a pattern containing "/", whose
absolute path matches it ("**" spans directories).`,
		Example: `  cairn find '*.sqlite'
  cairn find --ignore-case 'readme*'
  cairn find '/home/*/projects/**/go.mod' --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			pats := make([]string, len(args))
			for i, p := range args {
				if ignoreCase {
					p = strings.ToLower(p)
				}
				if !doublestar.ValidatePattern(p) {
					return errInvalidPattern(p)
				}
				pats[i] = p
			}
			r, err := g.openRepo(ctx)
			if err != nil {
				return err
			}
			snaps, err := f.snapshots(ctx, r)
			if err != nil {
				return err
			}
			results := []message.FindResult{}
			dmg := &damage{g: g, during: "find"}
			for _, s := range snaps {
				var matches []message.Node
				header := false
				err := snapshot.Walk(ctx, r, s.Tree, "/", dmg.report, func(p string, n *snapshot.Node) error {
					if !matchAny(pats, p, n.Name, ignoreCase) {
						return nil
					}
					if g.json {
						matches = append(matches, nodeJSON(p, n))
						return nil
					}
					if !header {
						g.printf("Found matching entries in snapshot %s from %s\n", s.ID.Short(), s.Time.Local().Format(time.DateTime))
						header = true
					}
					if long {
						g.printf("%s\n", longLine(p, n))
					} else {
						g.printf("%s\n", p)
					}
					return nil
				})
				if err != nil {
					return err
				}
				if header {
					g.printf("\n")
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
	return cmd
}

func matchAny(pats []string, p, name string, fold bool) bool {
	if fold {
		p, name = strings.ToLower(p), strings.ToLower(name)
	}
	for _, pat := range pats {
		var ok bool
		if strings.Contains(pat, "/") {
			ok, _ = doublestar.Match(strings.TrimPrefix(pat, "/"), strings.TrimPrefix(p, "/"))
		} else {
			ok, _ = path.Match(pat, name)
		}
		if ok {
			return true
		}
	}
	return false
}
