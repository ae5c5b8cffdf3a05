package repo

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
)

// KindPurge is a record naming blobs that "rewrite --forget" dropped from
// every snapshot it rewrote (design §11): the next prune removes each of
// them that no snapshot uses from every pack holding it, whatever
// --max-unused says, so that data removed on purpose (a password backed up
// by mistake) does not stay in a mostly used pack.
const KindPurge = crypto.KindRecordMin + 4

// maxPurgeBlobs bounds the blobs one purge record names (about 33 MiB).
const maxPurgeBlobs = 1 << 20

// encodePurge is the payload of a purge record: u8 version = 1, u32 N,
// N × (u8 blob type, id[32]), sorted.
func encodePurge(hs []blob.Handle) []byte {
	b := []byte{1}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(hs)))
	for _, h := range hs {
		b = append(b, byte(h.Type))
		b = append(b, h.ID[:]...)
	}
	return b
}

func decodePurge(p []byte) ([]blob.Handle, error) {
	if len(p) < 5 || p[0] != 1 {
		return nil, errors.New("purge record: bad header")
	}
	n := binary.LittleEndian.Uint32(p[1:])
	if n > maxPurgeBlobs || uint64(len(p)) != 5+uint64(n)*(1+blob.IDSize) {
		return nil, errors.New("purge record: bad length")
	}
	hs := make([]blob.Handle, n)
	for i := range hs {
		e := p[5+i*(1+blob.IDSize):]
		t := blob.Type(e[0])
		if t != blob.Data && t != blob.Tree {
			return nil, fmt.Errorf("purge record: blob %d has unknown type %d", i, e[0])
		}
		hs[i].Type = t
		copy(hs[i].ID[:], e[1:1+blob.IDSize])
	}
	return hs, nil
}

// SavePurge writes purge records naming hs (in records of at most
// maxPurgeBlobs blobs) and returns how many blobs they name.
func (r *Repository) SavePurge(ctx context.Context, hs []blob.Handle) (int, error) {
	sort.Slice(hs, func(i, j int) bool {
		if hs[i].Type != hs[j].Type {
			return hs[i].Type < hs[j].Type
		}
		return hs[i].ID.String() < hs[j].ID.String()
	})
	for start := 0; start < len(hs); start += maxPurgeBlobs {
		part := hs[start:min(start+maxPurgeBlobs, len(hs))]
		if _, err := r.SaveFile(ctx, backend.Record, KindPurge, encodePurge(part)); err != nil {
			return start, fmt.Errorf("save purge record: %w", err)
		}
	}
	return len(hs), nil
}

// purgeRecord is a stored purge record and the blobs it names.
type purgeRecord struct {
	name  string
	blobs []blob.Handle
}

// purgeRecords reads the purge records. A damaged one is named through
// Options.Warn and left out (its blobs go only as prune's usual rules
// say): it must not stop every later prune.
func (r *Repository) purgeRecords(ctx context.Context) ([]purgeRecord, error) {
	names, err := r.records(ctx, KindPurge)
	if err != nil {
		return nil, err
	}
	var out []purgeRecord
	for _, name := range names {
		p, err := r.LoadFile(ctx, backend.Handle{Type: backend.Record, Name: name}, KindPurge)
		var hs []blob.Handle
		if err == nil {
			hs, err = decodePurge(p)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			r.opts.Warn(fmt.Errorf("purge record %s is damaged and left out: %w", shortName(name), err))
			continue
		}
		out = append(out, purgeRecord{name: name, blobs: hs})
	}
	return out, nil
}

// removePurged deletes the purge records none of whose blobs is indexed
// any more (all were removed, or were never stored); a record naming a
// blob that a snapshot still uses stays, so that a later prune removes it
// once no snapshot does.
func (r *Repository) removePurged(ctx context.Context, rep *PruneReport, recs []purgeRecord) error {
	for _, rec := range recs {
		if r.holdsAny(rec.blobs) {
			continue
		}
		h := backend.Handle{Type: backend.Record, Name: rec.name}
		if err := r.remove(ctx, h); errors.Is(err, backend.ErrLocked) {
			r.lockedKept(ctx, rep, h)
		} else if err != nil && !errors.Is(err, backend.ErrNotExist) {
			return fmt.Errorf("delete purge record: %w", err)
		}
	}
	return nil
}

func (r *Repository) holdsAny(hs []blob.Handle) bool {
	for _, h := range hs {
		if r.idx.Has(h) {
			return true
		}
	}
	return false
}
