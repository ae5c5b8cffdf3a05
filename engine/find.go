package engine

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
	"github.com/cairn-backup/cairn/snapshot"
)

// FindRequest is what find looks for, as a user gives it.
type FindRequest struct {
	// Patterns match an entry's name, or, when they contain "/", its
	// absolute path ("**" spans directories). With ByBlob, ByTree or
	// ByPack they are ID prefixes instead.
	Patterns   []string
	IgnoreCase bool
	// ByBlob finds files holding data blobs, ByTree directories with tree
	// IDs, ByPack files with data in packs, whose IDs start with a pattern.
	ByBlob, ByTree, ByPack bool
	// ShowPack names the pack of each blob or pack match.
	ShowPack bool
	// Oldest and Newest bound modification times ("2006-01-02 15:04:05",
	// "2006-01-02 15:04" or a day, in local time; "" for no bound).
	Oldest, Newest string
}

// FindQuery is a parsed FindRequest.
type FindQuery struct {
	req    FindRequest
	pats   []string
	lo, hi time.Time
}

// ParseFind checks a request: patterns, exclusive modes and time bounds.
func ParseFind(req FindRequest) (*FindQuery, error) {
	n := 0
	for _, b := range []bool{req.ByBlob, req.ByTree, req.ByPack} {
		if b {
			n++
		}
	}
	if n > 1 {
		return nil, errors.New("--blob, --tree and --pack exclude each other")
	}
	byID := n == 1
	q := &FindQuery{req: req, pats: make([]string, len(req.Patterns))}
	for i, p := range req.Patterns {
		if req.IgnoreCase || byID {
			p = strings.ToLower(p)
		}
		if !byID && !doublestar.ValidatePattern(p) {
			return nil, fmt.Errorf("invalid pattern %q", p)
		}
		q.pats[i] = p
	}
	var err error
	q.lo, q.hi, err = timeBounds(req.Oldest, req.Newest)
	return q, err
}

// Match says whether the entry n at path p is found, and what to add to
// its line (the blob and pack with ShowPack). idx is needed for ByPack
// and ShowPack.
func (q *FindQuery) Match(idx *index.Index, p string, n *snapshot.Node) (bool, string) {
	if (!q.lo.IsZero() && n.ModTime.Before(q.lo)) || (!q.hi.IsZero() && n.ModTime.After(q.hi)) {
		return false, ""
	}
	switch {
	case q.req.ByTree:
		return n.Type == snapshot.TypeDir && hasPrefix(q.pats, n.Subtree.String()), ""
	case q.req.ByBlob || q.req.ByPack:
		for _, id := range n.Content {
			pk := ""
			if idx != nil {
				if loc, ok := idx.Lookup(blob.Handle{Type: blob.Data, ID: id}); ok {
					pk = loc.Pack.String()
				}
			}
			if (q.req.ByBlob && hasPrefix(q.pats, id.String())) || (q.req.ByPack && pk != "" && hasPrefix(q.pats, pk)) {
				if q.req.ShowPack {
					return true, " (blob " + id.Short() + " in pack " + shortID(pk) + ")"
				}
				return true, ""
			}
		}
		return false, ""
	}
	return matchAny(q.pats, p, n.Name, q.req.IgnoreCase), ""
}

// FindIn walks the tree of snapshot s and calls found for every match;
// trees that cannot be read go to onErr and the walk goes on.
func FindIn(ctx context.Context, l snapshot.BlobLoader, idx *index.Index, s *snapshot.Snapshot, q *FindQuery,
	onErr snapshot.OnWalkError, found func(p string, n *snapshot.Node, extra string) error) error {
	return snapshot.Walk(ctx, l, s.Tree, "/", onErr, func(p string, n *snapshot.Node) error {
		if ok, extra := q.Match(idx, p, n); ok {
			return found(p, n, extra)
		}
		return nil
	})
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
