package main

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/message"
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
			if n := btoi(byBlob) + btoi(byTree) + btoi(byPack); n > 1 {
				return errors.New("--blob, --tree and --pack exclude each other")
			}
			byID := byBlob || byTree || byPack
			pats := make([]string, len(args))
			for i, p := range args {
				if ignoreCase || byID {
					p = strings.ToLower(p)
				}
				if !byID && !doublestar.ValidatePattern(p) {
					return errInvalidPattern(p)
				}
				pats[i] = p
			}
			lo, hi, err := timeBounds(oldest, newest)
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
			packOf := func(id blob.ID) string {
				if loc, ok := r.Index().Lookup(blob.Handle{Type: blob.Data, ID: id}); ok {
					return loc.Pack.String()
				}
				return ""
			}
			// match says whether an entry is found, and what to add to its line.
			match := func(p string, n *snapshot.Node) (bool, string) {
				if (!lo.IsZero() && n.ModTime.Before(lo)) || (!hi.IsZero() && n.ModTime.After(hi)) {
					return false, ""
				}
				switch {
				case byTree:
					return n.Type == snapshot.TypeDir && hasPrefix(pats, n.Subtree.String()), ""
				case byBlob || byPack:
					for _, id := range n.Content {
						pk := packOf(id)
						if (byBlob && hasPrefix(pats, id.String())) || (byPack && pk != "" && hasPrefix(pats, pk)) {
							if showPack {
								return true, " (blob " + id.Short() + " in pack " + shortID(pk) + ")"
							}
							return true, ""
						}
					}
					return false, ""
				}
				return matchAny(pats, p, n.Name, ignoreCase), ""
			}
			results := []message.FindResult{}
			dmg := &damage{g: g, during: "find"}
			for _, s := range snaps {
				var matches []message.Node
				header := false
				err := snapshot.Walk(ctx, r, s.Tree, "/", dmg.report, func(p string, n *snapshot.Node) error {
					ok, extra := match(p, n)
					if !ok {
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
						g.printf("%s%s\n", longLine(p, n), extra)
					} else {
						g.printf("%s%s\n", p, extra)
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
	cmd.Flags().StringArrayVarP(&snapRefs, "snapshot", "s", nil, "search only snapshot `ID` (repeatable)")
	cmd.Flags().StringVarP(&oldest, "oldest", "O", "", "only entries modified at or after `time` (\"2006-01-02 15:04:05\")")
	cmd.Flags().StringVarP(&newest, "newest", "N", "", "only entries modified at or before `time`")
	cmd.Flags().BoolVar(&byBlob, "blob", false, "patterns are data blob ID prefixes")
	cmd.Flags().BoolVar(&byTree, "tree", false, "patterns are tree ID prefixes")
	cmd.Flags().BoolVar(&byPack, "pack", false, "patterns are pack ID prefixes")
	cmd.Flags().BoolVar(&showPack, "show-pack-id", false, "with --blob or --pack, name the pack of each match")
	return cmd
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func hasPrefix(prefixes []string, s string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func shortID(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// timeBounds parses --oldest and --newest ("" for no bound), in local time.
func timeBounds(oldest, newest string) (lo, hi time.Time, err error) {
	parse := func(flag, s string, end bool) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
			if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
				if end && layout == "2006-01-02" {
					t = t.Add(24*time.Hour - time.Nanosecond) // the whole day
				}
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("--%s %q: want \"2006-01-02 15:04:05\", \"2006-01-02 15:04\" or \"2006-01-02\"", flag, s)
	}
	if lo, err = parse("oldest", oldest, false); err != nil {
		return
	}
	hi, err = parse("newest", newest, true)
	return
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
