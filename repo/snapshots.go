package repo

import (
	"context"
	"fmt"
	"strings"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/snapshot"
	"golang.org/x/sync/errgroup"
)

// HasBlob reports whether the blob is indexed.
func (r *Repository) HasBlob(h blob.Handle) bool { return r.idx.Has(h) }

// BlobSize returns an indexed blob's plaintext length.
func (r *Repository) BlobSize(h blob.Handle) (uint32, bool) {
	loc, ok := r.idx.Lookup(h)
	return loc.Entry.RawLength, ok
}

// BlobID returns the ID data has in this repository.
func (r *Repository) BlobID(data []byte) blob.ID { return r.key.ID(data) }

// SaveSnapshot stores a snapshot and sets its ID. Call it only after Flush,
// so every blob it references is indexed (design §12).
func (r *Repository) SaveSnapshot(ctx context.Context, s *snapshot.Snapshot) error {
	name, err := r.SaveFile(ctx, backend.Snapshot, crypto.KindSnapshot, s.Encode())
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	s.ID, _ = blob.ParseID(name)
	return nil
}

// LoadSnapshot reads the snapshot with the given full name.
func (r *Repository) LoadSnapshot(ctx context.Context, name string) (*snapshot.Snapshot, error) {
	payload, err := r.LoadFile(ctx, backend.Handle{Type: backend.Snapshot, Name: name}, crypto.KindSnapshot)
	if err != nil {
		return nil, err
	}
	s, err := snapshot.DecodeSnapshot(payload)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", name[:8], err)
	}
	s.ID, err = blob.ParseID(name)
	return s, err
}

// Snapshots loads every readable snapshot, oldest first. Damaged snapshot
// files are passed to Options.Warn and left out.
func (r *Repository) Snapshots(ctx context.Context) ([]*snapshot.Snapshot, error) {
	snaps, bad, err := r.LoadSnapshots(ctx)
	for _, e := range bad {
		r.opts.Warn(e)
	}
	return snaps, err
}

// SnapshotNames lists the snapshot files' names: a cheap way to see
// whether snapshots were added or removed since the last look.
func (r *Repository) SnapshotNames(ctx context.Context) ([]string, error) {
	return backend.Names(ctx, r.be, backend.Snapshot)
}

// LoadSnapshots loads every snapshot, oldest first, and returns the errors
// of the snapshot files that could not be read.
func (r *Repository) LoadSnapshots(ctx context.Context) ([]*snapshot.Snapshot, []error, error) {
	all, err := backend.Names(ctx, r.be, backend.Snapshot)
	if err != nil {
		return nil, nil, err
	}
	gone, err := r.forgotten(ctx)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, n := range all {
		if id, err := blob.ParseID(n); err != nil || gone[id] == "" {
			names = append(names, n)
		}
	}
	loaded := make([]*snapshot.Snapshot, len(names))
	errs := make([]error, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Connections)
	for i, name := range names {
		g.Go(func() error {
			loaded[i], errs[i] = r.LoadSnapshot(gctx, name)
			return gctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	var snaps []*snapshot.Snapshot
	var bad []error
	for i := range names {
		if errs[i] != nil {
			bad = append(bad, fmt.Errorf("snapshot %s: %w", shortName(names[i]), errs[i]))
			continue
		}
		snaps = append(snaps, loaded[i])
	}
	snapshot.SortByTime(snaps)
	return snaps, bad, nil
}

// FindSnapshot resolves "latest" or an ID prefix among snaps.
func FindSnapshot(snaps []*snapshot.Snapshot, ref string) (*snapshot.Snapshot, error) {
	if ref == "latest" {
		if len(snaps) == 0 {
			return nil, fmt.Errorf("no snapshot matches: %w", ErrNotFound)
		}
		return snaps[len(snaps)-1], nil
	}
	var found *snapshot.Snapshot
	for _, s := range snaps {
		if strings.HasPrefix(s.ID.String(), strings.ToLower(ref)) {
			if found != nil {
				return nil, fmt.Errorf("snapshot prefix %q is ambiguous; give more digits", ref)
			}
			found = s
		}
	}
	if found == nil || ref == "" {
		return nil, fmt.Errorf("snapshot %q: %w", ref, ErrNotFound)
	}
	return found, nil
}

// LoadTree loads and decodes a tree blob.
func (r *Repository) LoadTree(ctx context.Context, id blob.ID) (*snapshot.Tree, error) {
	return snapshot.LoadTree(ctx, r, id)
}

// FindSnapshotRef loads the snapshot that ref names: "latest" or a unique
// ID prefix.
func (r *Repository) FindSnapshotRef(ctx context.Context, ref string) (*snapshot.Snapshot, error) {
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	return FindSnapshot(snaps, ref)
}
