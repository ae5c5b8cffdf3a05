package snapshot

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/cairn-backup/cairn/blob"
)

// ErrSkipDir, returned by a WalkFunc for a directory, skips its contents.
var ErrSkipDir = errors.New("skip this directory")

// WalkFunc is called for every node below the start; p is its absolute path
// in the snapshot.
type WalkFunc func(p string, n *Node) error

// LoadTree loads and decodes a tree blob.
func LoadTree(ctx context.Context, l BlobLoader, id blob.ID) (*Tree, error) {
	data, err := l.LoadBlob(ctx, blob.Handle{Type: blob.Tree, ID: id})
	if err != nil {
		return nil, err
	}
	t, err := DecodeTree(data)
	if err != nil {
		return nil, fmt.Errorf("tree %v: %w", id.Short(), err)
	}
	return t, nil
}

// Walk visits every node of the tree id depth-first in name order; dir is
// the tree's own path.
func Walk(ctx context.Context, l BlobLoader, id blob.ID, dir string, fn WalkFunc) error {
	t, err := LoadTree(ctx, l, id)
	if err != nil {
		return err
	}
	for i := range t.Nodes {
		n := &t.Nodes[i]
		p := path.Join(dir, n.Name)
		err := fn(p, n)
		if errors.Is(err, ErrSkipDir) {
			continue
		}
		if err != nil {
			return err
		}
		if n.Type == TypeDir {
			if err := Walk(ctx, l, n.Subtree, p, fn); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}
