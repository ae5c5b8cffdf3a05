package repo

import (
	"context"
	"sync"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/snapshot"
	"golang.org/x/sync/errgroup"
)

// walkTrees loads every tree reachable from roots once, in parallel, and
// calls fn for each with the tree or the error that loading it gave. fn
// may be called concurrently.
func (r *Repository) walkTrees(ctx context.Context, roots []blob.ID, fn func(id blob.ID, t *snapshot.Tree, err error)) error {
	var mu sync.Mutex // guards seen
	seen := map[blob.ID]bool{}
	g, gctx := errgroup.WithContext(ctx)
	sem := make(chan struct{}, r.opts.Connections)
	var visit func(id blob.ID)
	visit = func(id blob.ID) {
		mu.Lock()
		if seen[id] {
			mu.Unlock()
			return
		}
		seen[id] = true
		mu.Unlock()
		g.Go(func() error {
			select {
			case sem <- struct{}{}:
			case <-gctx.Done():
				return gctx.Err()
			}
			t, err := r.LoadTree(gctx, id)
			<-sem
			if gctx.Err() != nil {
				return gctx.Err()
			}
			fn(id, t, err)
			if err != nil {
				return nil
			}
			for i := range t.Nodes {
				if t.Nodes[i].Type == snapshot.TypeDir {
					visit(t.Nodes[i].Subtree)
				}
			}
			return nil
		})
	}
	for _, id := range roots {
		visit(id)
	}
	return g.Wait()
}
