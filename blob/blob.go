package blob

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// IDSize is the length of an ID in bytes.
const IDSize = 32

// ID identifies a blob or a stored file: a 256-bit BLAKE3 hash. It is
// comparable and usable as a map key.
type ID [IDSize]byte

// ErrInvalidID is returned when a string is not a valid hexadecimal ID.
var ErrInvalidID = errors.New("invalid ID")

// ParseID parses a 64-character lowercase or uppercase hexadecimal ID.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*IDSize {
		return id, fmt.Errorf("parse %q: %w: want %d hex digits", s, ErrInvalidID, 2*IDSize)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("parse %q: %w", s, ErrInvalidID)
	}
	return id, nil
}

// String returns the full lowercase hexadecimal form.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hexadecimal digits, for display.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// IsZero reports whether id is all zero bytes.
func (id ID) IsZero() bool { return id == ID{} }

// Type is the kind of a blob.
type Type uint8

const (
	// Data is a chunk of file content.
	Data Type = 0
	// Tree is an encoded directory.
	Tree Type = 1
	// NumTypes is the number of blob types.
	NumTypes = 2
)

// Valid reports whether t is a known blob type.
func (t Type) Valid() bool { return t < NumTypes }

// String returns "data" or "tree".
func (t Type) String() string {
	switch t {
	case Data:
		return "data"
	case Tree:
		return "tree"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Handle names a blob: its type and ID.
type Handle struct {
	Type Type
	ID   ID
}

// String returns "type/shortid".
func (h Handle) String() string { return h.Type.String() + "/" + h.ID.Short() }
