// The plan of a restore: what it will create, in which order, and which
// blobs it will read.

package snapshot

import (
	"context"
	"fmt"
	"iter"
	"path"

	"github.com/cairn-backup/cairn/blob"
)

// plannedReads yields the data blobs of files, in order, with repeats.
func plannedReads(files []item) iter.Seq[blob.Handle] {
	return func(yield func(blob.Handle) bool) {
		for _, it := range files {
			for _, id := range it.node.Content {
				if !yield(blob.Handle{Type: blob.Data, ID: id}) {
					return
				}
			}
		}
	}
}

// item is one entry to restore; rel is its path below the target.
type item struct {
	rel  string
	snap string // its path in the snapshot, for messages and filters
	node *Node
}

type plan struct {
	dirs      []item
	files     []item
	links     []item // symlinks, fifos, devices
	hardlinks []item
	linkOf    map[[2]uint64]string // (device, inode) -> rel of the first copy
}

// planAll plans the restore of node.
func (r *Restorer) planAll(ctx context.Context, p *plan, node *Node, snapPath string) error {
	if node.Type == TypeDir {
		return r.planDir(ctx, p, node, "", snapPath, false, 0)
	}
	return r.planNode(ctx, p, node, node.Name, snapPath, true, 0)
}

// countPlan sets the summary's totals from the plan.
func (r *Restorer) countPlan(p *plan) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, it := range p.files {
		r.sum.TotalFiles++
		r.sum.TotalBytes += it.node.Size
	}
	r.Progress.TotalFiles.Store(r.sum.TotalFiles)
	r.Progress.TotalBytes.Store(r.sum.TotalBytes)
	r.Progress.Planned.Store(true)
}

// measure counts the entries below tree id as a restore would expand them,
// visiting each distinct tree once, and refuses a snapshot past MaxEntries
// or MaxTreeDepth. Trees that cannot be loaded count as empty here; the
// plan reports them.
func (r *Restorer) measure(ctx context.Context, id blob.ID) error {
	limit := r.opts.MaxEntries
	if limit == 0 {
		limit = DefaultMaxEntries
	}
	memo := map[blob.ID]uint64{}
	var count func(id blob.ID, depth int) (uint64, error)
	count = func(id blob.ID, depth int) (uint64, error) {
		if n, ok := memo[id]; ok {
			return n, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if depth > MaxTreeDepth {
			return 0, fmt.Errorf("%w: directories nest deeper than %d levels", ErrMalformed, MaxTreeDepth)
		}
		t, err := LoadTree(ctx, r.repo, id)
		if err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			memo[id] = 0
			return 0, nil
		}
		var total uint64
		for i := range t.Nodes {
			total++
			if t.Nodes[i].Type == TypeDir {
				n, err := count(t.Nodes[i].Subtree, depth+1)
				if err != nil {
					return 0, err
				}
				total += n
			}
			if total > limit {
				return 0, fmt.Errorf("%w: its directories expand to more than %d entries (shared subtrees counted at each place they appear)", ErrMalformed, limit)
			}
		}
		memo[id] = total
		return total, nil
	}
	_, err := count(id, 0)
	return err
}

// planDir lists what to restore below a directory. selected is true when an
// include pattern matched an ancestor.
func (r *Restorer) planDir(ctx context.Context, p *plan, dir *Node, rel, snap string, selected bool, depth int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if depth > MaxTreeDepth {
		return fmt.Errorf("%s: %w: directories nest deeper than %d levels", displayPath(snap), ErrMalformed, MaxTreeDepth)
	}
	tree, err := LoadTree(ctx, r.repo, dir.Subtree)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Damage below one directory hides nothing else: name it and
		// restore the rest.
		r.opts.OnWarning(displayPath(snap), fmt.Errorf("could not read directory: %w", err))
		r.fail(displayPath(snap))
		return nil
	}
	p.dirs = append(p.dirs, item{rel: rel, snap: snap, node: dir})
	for i := range tree.Nodes {
		n := &tree.Nodes[i]
		if why := ValidName(n.Name); why != "" {
			r.refuse(UnsafePath(snap, n.Name), why)
			continue
		}
		childSnap := path.Join("/", snap, n.Name)
		// The path below the target ends the path in the snapshot: share
		// its bytes instead of joining a second string (a plan holds two
		// paths for every entry of the restore).
		childRel := n.Name
		if rel != "" {
			if k := len(childSnap) - len(rel) - 1 - len(n.Name); k >= 0 && childSnap[k:k+len(rel)] == rel &&
				childSnap[k+len(rel)] == '/' && childSnap[k+len(rel)+1:] == n.Name {
				childRel = childSnap[k:]
			} else {
				childRel = path.Join(rel, n.Name)
			}
		}
		if err := r.planNode(ctx, p, n, childRel, childSnap, selected, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (r *Restorer) refuse(p, why string) {
	r.mu.Lock()
	r.sum.Refused++
	r.mu.Unlock()
	r.opts.OnWarning(p, fmt.Errorf("%w: %s", ErrUnsafeName, why))
}

func displayPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func (r *Restorer) planNode(ctx context.Context, p *plan, n *Node, rel, snap string, selected bool, depth int) error {
	isDir := n.Type == TypeDir
	if r.opts.Exclude.Match(snap, isDir) {
		return nil
	}
	if !selected && !r.opts.Include.Empty() && r.opts.Include.Match(snap, isDir) {
		selected = true
	}
	if isDir {
		if !r.opts.Include.Empty() && !selected {
			// Look inside; create this directory only if something below is chosen.
			before := len(p.dirs) + len(p.files) + len(p.links) + len(p.hardlinks)
			mark := len(p.dirs)
			if err := r.planDir(ctx, p, n, rel, snap, false, depth); err != nil {
				return err
			}
			if len(p.dirs)+len(p.files)+len(p.links)+len(p.hardlinks) == before+1 {
				p.dirs = p.dirs[:mark] // nothing below was chosen
			}
			return nil
		}
		return r.planDir(ctx, p, n, rel, snap, selected, depth)
	}
	if !r.opts.Include.Empty() && !selected {
		return nil
	}
	it := item{rel: rel, snap: snap, node: n}
	switch {
	case n.Type == TypeFile && n.Links > 1:
		key := [2]uint64{n.Device, n.Inode}
		if _, ok := p.linkOf[key]; ok {
			p.hardlinks = append(p.hardlinks, it)
			return nil
		}
		p.linkOf[key] = rel
		p.files = append(p.files, it)
	case n.Type == TypeFile:
		p.files = append(p.files, it)
	default:
		p.links = append(p.links, it)
	}
	return nil
}
