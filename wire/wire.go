// Package wire writes and reads the protobuf wire format that snapshots,
// trees and lock files use (doc/design.md §9, §10), by hand over
// google.golang.org/protobuf/encoding/protowire: fields in ascending
// number order, zero values omitted, so an encoding is unique; unknown
// field numbers are skipped, other wire types than varint and bytes are
// rejected.
package wire

import (
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/blob"
	"google.golang.org/protobuf/encoding/protowire"
)

// ErrFormat is returned (wrapped) for bytes that are not a valid message.
var ErrFormat = errors.New("invalid tree or snapshot encoding")

// Encoder appends fields to B. Zero values are omitted.
type Encoder struct{ B []byte }

// Uint appends a varint field.
func (e *Encoder) Uint(num protowire.Number, v uint64) {
	if v != 0 {
		e.B = protowire.AppendTag(e.B, num, protowire.VarintType)
		e.B = protowire.AppendVarint(e.B, v)
	}
}

// Int appends a zigzag-encoded (sint64) field.
func (e *Encoder) Int(num protowire.Number, v int64) {
	e.Uint(num, protowire.EncodeZigZag(v))
}

// Bytes appends a length-delimited field.
func (e *Encoder) Bytes(num protowire.Number, v []byte) {
	if len(v) != 0 {
		e.B = protowire.AppendTag(e.B, num, protowire.BytesType)
		e.B = protowire.AppendBytes(e.B, v)
	}
}

// Str appends a string as a length-delimited field.
func (e *Encoder) Str(num protowire.Number, v string) { e.Bytes(num, []byte(v)) }

// ID appends a 32-byte ID, unless it is zero.
func (e *Encoder) ID(num protowire.Number, id blob.ID) {
	if !id.IsZero() {
		e.Bytes(num, id[:])
	}
}

// Message appends an embedded message, even an empty one.
func (e *Encoder) Message(num protowire.Number, m []byte) {
	e.B = protowire.AppendTag(e.B, num, protowire.BytesType)
	e.B = protowire.AppendBytes(e.B, m)
}

// Field is one decoded field: a varint (U) or a byte string (B).
type Field struct {
	Num protowire.Number
	U   uint64
	B   []byte
}

// Int returns a zigzag-encoded varint's value.
func (f Field) Int() int64 { return protowire.DecodeZigZag(f.U) }

// ID returns a 32-byte ID field.
func (f Field) ID() (blob.ID, error) {
	var id blob.ID
	if len(f.B) != blob.IDSize {
		return id, fmt.Errorf("field %d: ID of %d bytes: %w", f.Num, len(f.B), ErrFormat)
	}
	copy(id[:], f.B)
	return id, nil
}

// Decode calls fn for each field of b, in order. Fields of other wire
// types than varint and bytes are rejected; unknown field numbers are
// passed to fn, which ignores them.
func Decode(b []byte, fn func(Field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("tag: %w", ErrFormat)
		}
		b = b[n:]
		f := Field{Num: num}
		switch typ {
		case protowire.VarintType:
			f.U, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			f.B, n = protowire.ConsumeBytes(b)
		default:
			return fmt.Errorf("field %d has wire type %d: %w", num, typ, ErrFormat)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, ErrFormat)
		}
		b = b[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}
