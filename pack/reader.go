package pack

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
)

// ErrFormat is returned (wrapped) for a pack whose structure is invalid.
var ErrFormat = errors.New("invalid pack file")

// BlobError reports a blob that could not be opened; it names the blob so
// that check can map damage to files.
type BlobError struct {
	Handle blob.Handle
	Err    error
}

// Error describes the damaged blob.
func (e *BlobError) Error() string { return fmt.Sprintf("blob %v: %v", e.Handle, e.Err) }

// Unwrap returns the cause.
func (e *BlobError) Unwrap() error { return e.Err }

// Reader reads blobs of one pack.
type Reader struct {
	ra      io.ReaderAt
	key     *crypto.Key
	aead    cipher.AEAD
	salt    [crypto.PackSaltSize]byte
	entries []Entry
}

// NewReader reads and authenticates the header of the pack in ra.
func NewReader(ra io.ReaderAt, size int64, key *crypto.Key) (*Reader, error) {
	if size < TrailerSize {
		return nil, fmt.Errorf("pack of %d bytes: %w", size, ErrFormat)
	}
	tr := make([]byte, TrailerSize)
	if _, err := ra.ReadAt(tr, size-TrailerSize); err != nil {
		return nil, fmt.Errorf("read pack trailer: %w", err)
	}
	salt, hdrLen, err := ParseTrailer(tr)
	if err != nil {
		return nil, err
	}
	if int64(hdrLen) > size-TrailerSize {
		return nil, fmt.Errorf("header length %d exceeds pack size %d: %w", hdrLen, size, ErrFormat)
	}
	sealed := make([]byte, hdrLen)
	if _, err := ra.ReadAt(sealed, size-TrailerSize-int64(hdrLen)); err != nil {
		return nil, fmt.Errorf("read pack header: %w", err)
	}
	aead := key.PackAEAD(salt)
	plain, err := aead.Open(nil, crypto.HeaderNonce(), sealed, headerAD)
	if err != nil {
		return nil, fmt.Errorf("pack header: %w", crypto.ErrCorrupt)
	}
	entries, err := DecodeHeader(plain)
	if err != nil {
		return nil, err
	}
	if end := entriesEnd(entries); end != uint64(size)-TrailerSize-uint64(hdrLen) {
		return nil, fmt.Errorf("blobs end at %d, header starts at %d: %w", end, size-TrailerSize-int64(hdrLen), ErrFormat)
	}
	return &Reader{ra: ra, key: key, aead: aead, salt: salt, entries: entries}, nil
}

func entriesEnd(entries []Entry) uint64 {
	if len(entries) == 0 {
		return 0
	}
	last := entries[len(entries)-1]
	return uint64(last.Offset) + uint64(last.Length)
}

// ParseTrailer parses the last TrailerSize bytes of a pack.
func ParseTrailer(tr []byte) (salt [crypto.PackSaltSize]byte, hdrLen uint32, err error) {
	if len(tr) != TrailerSize || string(tr[TrailerSize-4:]) != Magic {
		return salt, 0, fmt.Errorf("no pack trailer: %w", ErrFormat)
	}
	if v := tr[crypto.PackSaltSize+4]; v != Version {
		return salt, 0, fmt.Errorf("pack version %d not supported: %w", v, ErrFormat)
	}
	copy(salt[:], tr)
	hdrLen = binary.LittleEndian.Uint32(tr[crypto.PackSaltSize:])
	if hdrLen < headerPrefix+crypto.Overhead {
		return salt, 0, fmt.Errorf("header length %d: %w", hdrLen, ErrFormat)
	}
	return salt, hdrLen, nil
}

// DecodeHeader parses a decrypted pack header and computes offsets.
func DecodeHeader(b []byte) ([]Entry, error) {
	if len(b) < headerPrefix || b[0] != headerVersion {
		return nil, fmt.Errorf("pack header version: %w", ErrFormat)
	}
	n := binary.LittleEndian.Uint32(b[1:])
	if uint64(len(b)-headerPrefix) != uint64(n)*EntrySize {
		return nil, fmt.Errorf("pack header: %d bytes for %d entries: %w", len(b), n, ErrFormat)
	}
	entries := make([]Entry, n)
	var off uint64
	for i := range entries {
		p := b[headerPrefix+i*EntrySize:]
		e := Entry{Type: blob.Type(p[0]), Compressed: p[1] == flagZstd, Offset: uint32(off)}
		copy(e.ID[:], p[2:])
		e.Length = binary.LittleEndian.Uint32(p[34:])
		e.RawLength = binary.LittleEndian.Uint32(p[38:])
		if err := e.Validate(); err != nil || p[1]&^flagZstd != 0 {
			return nil, fmt.Errorf("pack header entry %d: %v: %w", i, err, ErrFormat)
		}
		off += uint64(e.Length)
		if off > 1<<32 {
			return nil, fmt.Errorf("pack header: offsets exceed 4 GiB: %w", ErrFormat)
		}
		entries[i] = e
	}
	return entries, nil
}

// Validate checks an entry's internal consistency: a known type, lengths
// within bounds, and compressed exactly when the payload is smaller.
func (e Entry) Validate() error {
	switch {
	case !e.Type.Valid():
		return fmt.Errorf("unknown blob type %d", e.Type)
	case e.Length < crypto.Overhead || e.RawLength > MaxPlaintext:
		return fmt.Errorf("lengths %d/%d out of range", e.Length, e.RawLength)
	case e.Compressed && e.Length-crypto.Overhead >= e.RawLength:
		return fmt.Errorf("compressed payload %d not smaller than plaintext %d", e.Length-crypto.Overhead, e.RawLength)
	case !e.Compressed && e.Length-crypto.Overhead != e.RawLength:
		return fmt.Errorf("raw payload %d differs from plaintext %d", e.Length-crypto.Overhead, e.RawLength)
	}
	return nil
}

// Entries returns the pack's blobs in file order.
func (r *Reader) Entries() []Entry { return r.entries }

// Salt returns the pack's salt.
func (r *Reader) Salt() [crypto.PackSaltSize]byte { return r.salt }

// ReadBlob reads, opens, decompresses and verifies the blob of entry e.
func (r *Reader) ReadBlob(e Entry) ([]byte, error) {
	sealed := make([]byte, e.Length)
	if _, err := r.ra.ReadAt(sealed, int64(e.Offset)); err != nil {
		return nil, &BlobError{e.Handle(), err}
	}
	return openEntry(r.key, r.aead, e, sealed)
}

// OpenBlob opens the sealed bytes of e in the pack with the given salt,
// decompresses them and checks that they hash to e.ID. Damage yields a
// *BlobError wrapping crypto.ErrCorrupt.
func OpenBlob(key *crypto.Key, salt [crypto.PackSaltSize]byte, e Entry, sealed []byte) ([]byte, error) {
	return openEntry(key, key.PackAEAD(salt), e, sealed)
}

// OpenBlobInto is OpenBlob that decrypts into payloadDst's array (pass
// sealed[:0] to decrypt in place, or a buffer of its own to leave sealed
// intact) and decompresses into plainBuf's array when it has room. An
// uncompressed blob's plaintext is the decrypted payload itself. aead is
// the pack's cipher, key.PackAEAD of its salt: deriving it costs more than
// opening a small blob, so a reader of many blobs of one pack keeps it.
func OpenBlobInto(key *crypto.Key, aead cipher.AEAD, e Entry, sealed, payloadDst, plainBuf []byte) ([]byte, error) {
	return openEntryInto(key, aead, e, sealed, payloadDst, plainBuf)
}

func openEntry(key *crypto.Key, aead cipher.AEAD, e Entry, sealed []byte) ([]byte, error) {
	return openEntryInto(key, aead, e, sealed, sealed[:0], nil)
}

// openEntryInto is openEntry decrypting into payloadDst (sealed[:0] for
// in place, or a buffer of its own, leaving sealed intact) and
// decompressing into plainBuf's array when it has room.
func openEntryInto(key *crypto.Key, aead cipher.AEAD, e Entry, sealed, payloadDst, plainBuf []byte) ([]byte, error) {
	if uint32(len(sealed)) != e.Length {
		return nil, &BlobError{e.Handle(), fmt.Errorf("read %d of %d bytes: %w", len(sealed), e.Length, crypto.ErrCorrupt)}
	}
	payload, err := aead.Open(payloadDst, crypto.OffsetNonce(e.Offset), sealed, crypto.BlobAD(e.Type, e.ID))
	if err != nil {
		return nil, &BlobError{e.Handle(), crypto.ErrCorrupt}
	}
	plain := payload
	if e.Compressed {
		if plain, err = decompressInto(plainBuf, payload, int(e.RawLength)); err != nil {
			return nil, &BlobError{e.Handle(), fmt.Errorf("%v: %w", err, crypto.ErrCorrupt)}
		}
	}
	if uint32(len(plain)) != e.RawLength || key.ID(plain) != e.ID {
		return nil, &BlobError{e.Handle(), fmt.Errorf("content does not match ID: %w", crypto.ErrCorrupt)}
	}
	return plain, nil
}
