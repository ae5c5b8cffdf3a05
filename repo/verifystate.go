package repo

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
)

// KindVerifyState is the record kind holding when each pack was last read
// and verified by check (doc/design.md §11).
const KindVerifyState = crypto.KindRecordMin

// VerifyState maps pack names to the time check last verified them.
type VerifyState map[blob.ID]time.Time

func (v VerifyState) encode() []byte {
	ids := make([]blob.ID, 0, len(v))
	for id := range v {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	b := []byte{1}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		b = append(b, id[:]...)
		b = binary.LittleEndian.AppendUint64(b, uint64(v[id].UnixNano()))
	}
	return b
}

// DecodeVerifyState parses a verification-state record payload.
func DecodeVerifyState(b []byte) (VerifyState, error) {
	if len(b) < 5 || b[0] != 1 {
		return nil, fmt.Errorf("verification state: %w", crypto.ErrCorrupt)
	}
	n := binary.LittleEndian.Uint32(b[1:])
	if uint64(len(b)-5) != uint64(n)*40 {
		return nil, fmt.Errorf("verification state: %d bytes for %d packs: %w", len(b), n, crypto.ErrCorrupt)
	}
	v := make(VerifyState, n)
	for i := 0; i < int(n); i++ {
		p := b[5+i*40:]
		var id blob.ID
		copy(id[:], p)
		ns := binary.LittleEndian.Uint64(p[32:])
		if ns > math.MaxInt64 {
			return nil, fmt.Errorf("verification state time: %w", crypto.ErrCorrupt)
		}
		v[id] = time.Unix(0, int64(ns)).UTC()
	}
	return v, nil
}

// records lists the names of records of one kind.
func (r *Repository) records(ctx context.Context, kind byte) ([]string, error) {
	var names []string
	err := r.be.List(ctx, backend.Record, func(fi backend.FileInfo) error {
		head, err := backend.ReadAll(ctx, r.be, backend.Handle{Type: backend.Record, Name: fi.Name}, 0, 2)
		if err != nil {
			return nil // damaged records are skipped; their kind is unknown
		}
		if k, err := crypto.EnvelopeKind(append(head, make([]byte, 64)...)); err == nil && k == kind {
			names = append(names, fi.Name)
		}
		return nil
	})
	return names, err
}

// LoadVerifyState merges every verification-state record (the newest time
// per pack wins), ignoring damaged ones.
func (r *Repository) LoadVerifyState(ctx context.Context) (VerifyState, []string, error) {
	names, err := r.records(ctx, KindVerifyState)
	if err != nil {
		return nil, nil, err
	}
	state := VerifyState{}
	for _, name := range names {
		payload, err := r.LoadFile(ctx, backend.Handle{Type: backend.Record, Name: name}, KindVerifyState)
		if err != nil {
			r.opts.Warn(fmt.Errorf("verification state %s: %w", shortName(name), err))
			continue
		}
		v, err := DecodeVerifyState(payload)
		if err != nil {
			r.opts.Warn(err)
			continue
		}
		for id, t := range v {
			if t.After(state[id]) {
				state[id] = t
			}
		}
	}
	return state, names, nil
}

// SaveVerifyState stores state as a new record, then removes the records
// it replaces: a kill in between leaves both, which LoadVerifyState merges.
// Records the storage will not let these credentials delete (append-only)
// or keeps locked stay for the same reason: the merge makes them harmless
// (a locked repository gains one small record per rolling check).
func (r *Repository) SaveVerifyState(ctx context.Context, state VerifyState, replaces []string) error {
	if _, err := r.SaveFile(ctx, backend.Record, KindVerifyState, state.encode()); err != nil {
		return err
	}
	var errs []error
	for _, name := range replaces {
		err := r.remove(ctx, backend.Handle{Type: backend.Record, Name: name})
		if err != nil && !errors.Is(err, backend.ErrPermission) && !errors.Is(err, backend.ErrLocked) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
