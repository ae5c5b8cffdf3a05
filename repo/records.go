package repo

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/crypto"
)

// Record kinds holding JSON documents (doc/design.md §11).
const (
	// KindDrill is a restore drill's result, written by "cairn drill".
	KindDrill = crypto.KindRecordMin + 1
	// KindGate is a pre-change backup gate, written by "cairn gate".
	KindGate = crypto.KindRecordMin + 2
)

// jsonRecordVersion is the first payload byte of a JSON record.
const jsonRecordVersion = 1

// maxJSONRecord bounds a JSON record's payload, checked before decoding.
const maxJSONRecord = 1 << 20

// SaveJSONRecord stores v, as JSON after a version byte, in a new record of
// the given kind and returns the record's name. Records are written once
// and never changed.
func (r *Repository) SaveJSONRecord(ctx context.Context, kind byte, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	if len(b) > maxJSONRecord {
		return "", fmt.Errorf("record of %d bytes is too large", len(b))
	}
	return r.SaveFile(ctx, backend.Record, kind, append([]byte{jsonRecordVersion}, b...))
}

// JSONRecord is one stored JSON record.
type JSONRecord struct {
	Name string          // the record file's name
	Data json.RawMessage // the JSON document
}

// LoadJSONRecords returns every record of a kind, sorted by name. Damaged
// records are reported through the Warn option and skipped.
func (r *Repository) LoadJSONRecords(ctx context.Context, kind byte) ([]JSONRecord, error) {
	names, err := r.records(ctx, kind)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []JSONRecord
	for _, name := range names {
		payload, err := r.LoadFile(ctx, backend.Handle{Type: backend.Record, Name: name}, kind)
		if err == nil {
			err = checkJSONRecord(payload)
		}
		if err != nil {
			r.opts.Warn(fmt.Errorf("record %s: %w", shortName(name), err))
			continue
		}
		out = append(out, JSONRecord{Name: name, Data: payload[1:]})
	}
	return out, nil
}

func checkJSONRecord(p []byte) error {
	switch {
	case len(p) < 1 || p[0] != jsonRecordVersion:
		return fmt.Errorf("unknown record version: %w", crypto.ErrCorrupt)
	case len(p) > maxJSONRecord+1 || !json.Valid(p[1:]):
		return fmt.Errorf("record is not valid JSON: %w", crypto.ErrCorrupt)
	}
	return nil
}

// Record is one record file, opened: its kind and payload.
type Record struct {
	Name    string
	Kind    byte
	Payload []byte
}

// LoadRecord reads the record file named by a unique prefix, whatever its
// kind (the kind is in clear in the envelope).
func (r *Repository) LoadRecord(ctx context.Context, prefix string) (*Record, error) {
	name, err := r.Find(ctx, backend.Record, prefix)
	if err != nil {
		return nil, err
	}
	h := backend.Handle{Type: backend.Record, Name: name}
	head, err := backend.ReadAll(ctx, r.be, h, 0, 2)
	if err != nil {
		return nil, err
	}
	kind, err := crypto.EnvelopeKind(append(head, make([]byte, 64)...))
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", shortName(name), err)
	}
	payload, err := r.LoadFile(ctx, h, kind)
	if err != nil {
		return nil, err
	}
	return &Record{Name: name, Kind: kind, Payload: payload}, nil
}

// JSON returns the document of a JSON record (drills, gates), or false
// for other kinds.
func (rec *Record) JSON() (json.RawMessage, bool) {
	if rec.Kind < KindDrill || checkJSONRecord(rec.Payload) != nil {
		return nil, false
	}
	return rec.Payload[1:], true
}
