package repo

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/snapshot"
	"golang.org/x/sync/errgroup"
)

// CopyReport says what Copy did.
type CopyReport struct {
	Copied       []*snapshot.Snapshot // new snapshots in the destination
	Skipped      int                  // snapshots the destination already had
	BlobsCopied  int                  // blobs uploaded
	BytesCopied  uint64               // their plaintext bytes
	BlobsPresent int                  // blobs the destination already had
}

// copier copies trees and blobs from src into dst, re-encrypting them with
// dst's keys (and re-hashing them, unless both share the blob-ID key).
type copier struct {
	src, dst *Repository
	sameIDs  bool
	rep      *CopyReport
	mu       sync.Mutex // guards blobs, trees
	blobs    map[blob.ID]blob.ID
	trees    map[blob.ID]blob.ID
	// bufs recycles the buffers of the blobs in flight instead of a
	// fresh one per blob.
	bufs    *blob.Buffers
	copied  atomic.Int64
	present atomic.Int64
	bytes   atomic.Uint64
}

// SnapshotKey is what identifies a snapshot across copies: its original ID.
func SnapshotKey(s *snapshot.Snapshot) blob.ID {
	if !s.Original.IsZero() {
		return s.Original
	}
	return s.ID
}

// Copy copies the given snapshots of src into dst, skipping those dst
// already has (by original ID) and uploading only blobs dst lacks. Each
// snapshot is saved only after all its data is stored, so a killed copy
// is finished by running it again.
//
// When it fails or ctx ends, it returns the report of what it did with the
// error: snapshots are copied whole or not at all.
func Copy(ctx context.Context, src, dst *Repository, snaps []*snapshot.Snapshot, onSnapshot func(src, dst *snapshot.Snapshot)) (*CopyReport, error) {
	have, err := dst.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	done := map[blob.ID]bool{}
	for _, s := range have {
		done[SnapshotKey(s)] = true
	}
	probe := []byte("cairn copy: do both repositories share the blob-ID key?")
	c := &copier{src: src, dst: dst, sameIDs: src.BlobID(probe) == dst.BlobID(probe), rep: &CopyReport{},
		blobs: map[blob.ID]blob.ID{}, trees: map[blob.ID]blob.ID{},
		bufs: blob.NewBuffers(dst.opts.Connections, 1<<20, 4<<20)}
	// On failure or cancellation the report counts what was really done,
	// and the blobs already stored in dst are indexed for the next run.
	fail := func(err error) (*CopyReport, error) {
		if _, serr := dst.SalvageIndex(ctx); serr != nil {
			err = fmt.Errorf("%w (and indexing what was stored failed: %v)", err, serr)
		}
		c.rep.BlobsCopied, c.rep.BlobsPresent, c.rep.BytesCopied = int(c.copied.Load()), int(c.present.Load()), c.bytes.Load()
		return c.rep, err
	}
	for _, s := range snaps {
		if done[SnapshotKey(s)] {
			c.rep.Skipped++
			continue
		}
		tree, err := c.tree(ctx, s.Tree)
		if err != nil {
			return fail(fmt.Errorf("copy snapshot %s: %w", s.ID.Short(), err))
		}
		if err := dst.Flush(ctx); err != nil {
			return fail(err)
		}
		ns := *s
		ns.Tree, ns.Parent, ns.Original = tree, blob.ID{}, SnapshotKey(s)
		if err := dst.SaveSnapshot(ctx, &ns); err != nil {
			return fail(err)
		}
		done[ns.Original] = true
		c.rep.Copied = append(c.rep.Copied, &ns)
		if onSnapshot != nil {
			onSnapshot(s, &ns)
		}
	}
	c.rep.BlobsCopied, c.rep.BlobsPresent, c.rep.BytesCopied = int(c.copied.Load()), int(c.present.Load()), c.bytes.Load()
	return c.rep, nil
}

// tree copies a tree and everything below it and returns its ID in dst.
func (c *copier) tree(ctx context.Context, id blob.ID) (blob.ID, error) {
	c.mu.Lock()
	if nid, ok := c.trees[id]; ok {
		c.mu.Unlock()
		return nid, nil
	}
	c.mu.Unlock()
	t, err := c.src.LoadTree(ctx, id)
	if err != nil {
		return blob.ID{}, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.dst.opts.Connections)
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if n.Type == snapshot.TypeDir {
			sub, err := c.tree(ctx, n.Subtree)
			if err != nil {
				return blob.ID{}, err
			}
			n.Subtree = sub
			continue
		}
		for j := range n.Content {
			g.Go(func() error {
				nid, err := c.blob(gctx, n.Content[j])
				n.Content[j] = nid
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return blob.ID{}, err
	}
	data := t.Encode()
	nid, known, err := c.dst.SaveBlob(ctx, blob.Tree, data)
	if err != nil {
		return blob.ID{}, err
	}
	c.count(known, len(data))
	c.mu.Lock()
	c.trees[id] = nid
	c.mu.Unlock()
	return nid, nil
}

func (c *copier) count(known bool, n int) {
	if known {
		c.present.Add(1)
	} else {
		c.copied.Add(1)
		c.bytes.Add(uint64(n))
	}
}

// blob copies one data blob and returns its ID in dst.
func (c *copier) blob(ctx context.Context, id blob.ID) (blob.ID, error) {
	c.mu.Lock()
	nid, ok := c.blobs[id]
	c.mu.Unlock()
	if ok {
		return nid, nil
	}
	h := blob.Handle{Type: blob.Data, ID: id}
	if c.sameIDs && c.dst.HasBlob(h) {
		c.present.Add(1)
		nid = id
	} else {
		data, err := c.src.LoadBlobInto(ctx, h, c.bufs.Get(0))
		if err != nil {
			return blob.ID{}, err
		}
		var known bool
		nid, known, err = c.dst.SaveBlob(ctx, blob.Data, data)
		c.bufs.Put(data) // SaveBlob keeps no reference to data
		if err != nil {
			return blob.ID{}, err
		}
		c.count(known, len(data))
	}
	c.mu.Lock()
	c.blobs[id] = nid
	c.mu.Unlock()
	return nid, nil
}
