package main

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/index"
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
			q := findQuery{ignoreCase: ignoreCase, byBlob: byBlob, byTree: byTree, byPack: byPack, showPack: showPack}
			if err := q.parse(args, oldest, newest); err != nil {
				return err
			}
			r, err := g.openRepo(ctx)
			if err != nil {
				return err
			}
			q.idx = r.Index()
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

// findQuery is what find looks for: name or path patterns, or with
// byBlob, byTree or byPack, ID prefixes; lo and hi bound modification times.
type findQuery struct {
	pats                             []string
	lo, hi                           time.Time
	ignoreCase                       bool
	byBlob, byTree, byPack, showPack bool
	idx                              *index.Index
}

// parse checks and lowers the patterns and parses --oldest and --newest.
func (q *findQuery) parse(args []string, oldest, newest string) error {
	if n := btoi(q.byBlob) + btoi(q.byTree) + btoi(q.byPack); n > 1 {
		return errors.New("--blob, --tree and --pack exclude each other")
	}
	byID := q.byBlob || q.byTree || q.byPack
	q.pats = make([]string, len(args))
	for i, p := range args {
		if q.ignoreCase || byID {
			p = strings.ToLower(p)
		}
		if !byID && !doublestar.ValidatePattern(p) {
			return errInvalidPattern(p)
		}
		q.pats[i] = p
	}
	var err error
	q.lo, q.hi, err = timeBounds(oldest, newest)
	return err
}

// packOf names the pack holding data blob id, or "" when the index lacks it.
func (q *findQuery) packOf(id blob.ID) string {
	if loc, ok := q.idx.Lookup(blob.Handle{Type: blob.Data, ID: id}); ok {
		return loc.Pack.String()
	}
	return ""
}

// match says whether the entry n at path p is found, and what to add to its line.
func (q *findQuery) match(p string, n *snapshot.Node) (bool, string) {
	if (!q.lo.IsZero() && n.ModTime.Before(q.lo)) || (!q.hi.IsZero() && n.ModTime.After(q.hi)) {
		return false, ""
	}
	switch {
	case q.byTree:
		return n.Type == snapshot.TypeDir && hasPrefix(q.pats, n.Subtree.String()), ""
	case q.byBlob || q.byPack:
		for _, id := range n.Content {
			pk := q.packOf(id)
			if (q.byBlob && hasPrefix(q.pats, id.String())) || (q.byPack && pk != "" && hasPrefix(q.pats, pk)) {
				if q.showPack {
					return true, " (blob " + id.Short() + " in pack " + shortID(pk) + ")"
				}
				return true, ""
			}
		}
		return false, ""
	}
	return matchAny(q.pats, p, n.Name, q.ignoreCase), ""
}

// findIn walks snapshot s, printing its matches as text (or, with --json,
// returning them); damaged trees go to dmg and the walk goes on.
func findIn(ctx context.Context, g *globals, r *repo.Repository, s *snapshot.Snapshot, q findQuery, long bool, dmg *damage) ([]message.Node, error) {
	var matches []message.Node
	header := false
	err := snapshot.Walk(ctx, r, s.Tree, "/", dmg.report, func(p string, n *snapshot.Node) error {
		ok, extra := q.match(p, n)
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
		return nil, err
	}
	if header {
		g.printf("\n")
	}
	return matches, nil
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
