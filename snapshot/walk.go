package snapshot

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/cairn-backup/cairn/blob"
)

// ErrSkipDir, returned by a WalkFunc for a directory, skips its contents.
var ErrSkipDir = errors.New("skip this directory")

// ErrMalformed is reported for a snapshot whose trees are well-formed
// blobs but could not have come from a file system: directories nested
// deeper than MaxTreeDepth, or shared subtrees expanding to more entries
// than a restore's limit.
var ErrMalformed = errors.New("the snapshot is malformed")

// MaxTreeDepth is the deepest directory nesting cairn reads. A path of
// 4096 bytes, Linux's PATH_MAX, holds at most 2048 levels.
const MaxTreeDepth = 2048

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

// OnWalkError is told about what a walk could not visit: a directory
// whose tree could not be loaded (p is the directory) or an entry whose
// name is unsafe (p shows the name quoted, control characters visible, and
// err wraps ErrUnsafeName). The walk goes on past it.
type OnWalkError func(p string, err error)

// Walk visits every node of the tree id depth-first in name order; dir is
// the tree's own path. Entries whose names could escape a directory ("..",
// "a/b", NUL; see ValidName) are never passed to fn. With onErr nil, the
// first such entry or unreadable tree ends the walk with an error; with
// onErr set, it is reported there and the walk goes on, so that damage
// below one directory hides nothing else. Cancellation is checked before
// every tree load.
func Walk(ctx context.Context, l BlobLoader, id blob.ID, dir string, onErr OnWalkError, fn WalkFunc) error {
	return walk(ctx, l, id, dir, 0, onErr, fn)
}

func walk(ctx context.Context, l BlobLoader, id blob.ID, dir string, depth int, onErr OnWalkError, fn WalkFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if depth > MaxTreeDepth {
		return fmt.Errorf("%s: %w: directories nest deeper than %d levels", displayPath(dir), ErrMalformed, MaxTreeDepth)
	}
	t, err := LoadTree(ctx, l, id)
	if err != nil {
		if onErr == nil || ctx.Err() != nil {
			return err
		}
		onErr(displayPath(dir), fmt.Errorf("could not read directory: %w", err))
		return nil
	}
	return walkTree(ctx, l, t, dir, depth, onErr, fn)
}

func walkTree(ctx context.Context, l BlobLoader, t *Tree, dir string, depth int, onErr OnWalkError, fn WalkFunc) error {
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if why := ValidName(n.Name); why != "" {
			err := fmt.Errorf("%w: %s", ErrUnsafeName, why)
			if onErr == nil {
				return fmt.Errorf("%s: %w", UnsafePath(dir, n.Name), err)
			}
			onErr(UnsafePath(dir, n.Name), err)
			continue
		}
		p := path.Join(dir, n.Name)
		err := fn(p, n)
		if errors.Is(err, ErrSkipDir) {
			continue
		}
		if err != nil {
			return err
		}
		if n.Type == TypeDir {
			if err := walk(ctx, l, n.Subtree, p, depth+1, onErr, fn); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// UnsafePath shows an entry of dir whose name is unsafe: the name quoted
// as a Go string, so that "..", slashes, NUL and control characters are
// visible and nothing is cleaned away.
func UnsafePath(dir, name string) string {
	return strings.TrimSuffix(path.Join("/", dir), "/") + "/" + fmt.Sprintf("%q", name)
}
