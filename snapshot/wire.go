package snapshot

import (
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/blob"
	"google.golang.org/protobuf/encoding/protowire"
)

// ErrFormat is returned (wrapped) for a tree or snapshot that cannot be
// decoded.
var ErrFormat = errors.New("invalid tree or snapshot encoding")

// Objects are encoded in protobuf wire format (fields in ascending number
// order, zero values omitted), which keeps them deterministic and lets later
// versions add fields that older readers skip.

type encoder struct{ b []byte }

func (e *encoder) uint(num protowire.Number, v uint64) {
	if v != 0 {
		e.b = protowire.AppendTag(e.b, num, protowire.VarintType)
		e.b = protowire.AppendVarint(e.b, v)
	}
}

func (e *encoder) int(num protowire.Number, v int64) {
	e.uint(num, protowire.EncodeZigZag(v))
}

func (e *encoder) bytes(num protowire.Number, v []byte) {
	if len(v) != 0 {
		e.b = protowire.AppendTag(e.b, num, protowire.BytesType)
		e.b = protowire.AppendBytes(e.b, v)
	}
}

func (e *encoder) str(num protowire.Number, v string) { e.bytes(num, []byte(v)) }

func (e *encoder) id(num protowire.Number, id blob.ID) {
	if !id.IsZero() {
		e.bytes(num, id[:])
	}
}

// field is one decoded field: a varint or a byte string.
type field struct {
	num protowire.Number
	u   uint64
	b   []byte
}

func (f field) int() int64 { return protowire.DecodeZigZag(f.u) }

func (f field) id() (blob.ID, error) {
	var id blob.ID
	if len(f.b) != blob.IDSize {
		return id, fmt.Errorf("field %d: ID of %d bytes: %w", f.num, len(f.b), ErrFormat)
	}
	copy(id[:], f.b)
	return id, nil
}

// decode calls fn for each field of b. Fields of other wire types than
// varint and bytes are rejected; unknown field numbers are passed to fn,
// which ignores them.
func decode(b []byte, fn func(field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("tag: %w", ErrFormat)
		}
		b = b[n:]
		f := field{num: num}
		switch typ {
		case protowire.VarintType:
			f.u, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
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
