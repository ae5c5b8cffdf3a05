package repo

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
)

// KindForgotten is a record naming snapshots that were forgotten while
// their files were still retained by the object lock (design §12b).
const KindForgotten = crypto.KindRecordMin + 3

// encodeForgotten is the payload of a forgotten-snapshots record: u8
// version = 1, u32 N, N × id[32].
func encodeForgotten(ids []blob.ID) []byte {
	b := []byte{1}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		b = append(b, id[:]...)
	}
	return b
}

func decodeForgotten(p []byte) ([]blob.ID, error) {
	if len(p) < 5 || p[0] != 1 {
		return nil, errors.New("forgotten-snapshots record: bad header")
	}
	n := binary.LittleEndian.Uint32(p[1:])
	if uint64(len(p)) != 5+uint64(n)*blob.IDSize {
		return nil, errors.New("forgotten-snapshots record: bad length")
	}
	ids := make([]blob.ID, n)
	for i := range ids {
		copy(ids[i][:], p[5+i*blob.IDSize:])
	}
	return ids, nil
}

// forgotten returns the snapshots that forgotten-snapshots records name,
// and which record names each; without an object lock there are none.
func (r *Repository) forgotten(ctx context.Context) (map[blob.ID]string, error) {
	out := map[blob.ID]string{}
	if !r.cfg.Lock.Enabled() {
		return out, nil
	}
	names, err := r.records(ctx, KindForgotten)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		p, err := r.LoadFile(ctx, backend.Handle{Type: backend.Record, Name: name}, KindForgotten)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", shortName(name), err)
		}
		ids, err := decodeForgotten(p)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", shortName(name), err)
		}
		for _, id := range ids {
			out[id] = name
		}
	}
	return out, nil
}

// RemoveSnapshot deletes a snapshot file. In a repository with an object
// lock, a file still retained is forgotten instead: a record names it, and
// from then on it is no snapshot; prune deletes the file once its
// retention runs out.
func (r *Repository) RemoveSnapshot(ctx context.Context, id blob.ID) error {
	err := r.remove(ctx, backend.Handle{Type: backend.Snapshot, Name: id.String()})
	if !errors.Is(err, backend.ErrLocked) {
		return err
	}
	_, err = r.SaveFile(ctx, backend.Record, KindForgotten, encodeForgotten([]blob.ID{id}))
	return err
}
