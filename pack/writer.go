package pack

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
)

// Format constants (doc/design.md §7).
const (
	Version       = 1
	Magic         = "CRNP"
	TrailerSize   = crypto.PackSaltSize + 4 + 1 + 4
	EntrySize     = 1 + 1 + blob.IDSize + 4 + 4
	headerPrefix  = 1 + 4
	headerVersion = 1
	flagZstd      = 1
)

var headerAD = []byte("hdr")

// FileSize is the size of a pack file holding exactly these entries: the
// sealed blobs, the sealed header and the trailer (doc/design.md §7).
func FileSize(entries []Entry) int64 {
	var end int64
	for _, e := range entries {
		end = max(end, int64(e.Offset)+int64(e.Length))
	}
	return end + headerPrefix + int64(len(entries))*EntrySize + crypto.Overhead + TrailerSize
}

// ErrVerify is returned when a blob fails the check made before it is
// written: opening, decompressing and re-hashing it did not give its ID.
var ErrVerify = errors.New("blob failed verification before writing")

// Entry describes one blob in a pack.
type Entry struct {
	Type       blob.Type
	ID         blob.ID
	Offset     uint32
	Length     uint32 // sealed length: payload plus tag
	RawLength  uint32 // plaintext length
	Compressed bool
}

// Handle returns the entry's blob handle.
func (e Entry) Handle() blob.Handle { return blob.Handle{Type: e.Type, ID: e.ID} }

// Writer writes one pack. It is not safe for concurrent use.
type Writer struct {
	w       io.Writer
	key     *crypto.Key
	aead    cipher.AEAD
	salt    [crypto.PackSaltSize]byte
	off     uint32
	entries []Entry
	scratch *scratch // taken from scratchPool on the first Add
	closed  bool
}

// scratch holds the buffers a Writer seals and verifies blobs in; they are
// recycled between packs so that no blob costs an allocation.
type scratch struct {
	sealed, opened, plain []byte
}

var scratchPool sync.Pool

// NewWriter starts a pack with a fresh random salt.
func NewWriter(w io.Writer, key *crypto.Key) (*Writer, error) {
	pw := &Writer{w: w, key: key}
	if _, err := rand.Read(pw.salt[:]); err != nil {
		return nil, fmt.Errorf("pack salt: %w", err)
	}
	pw.aead = key.PackAEAD(pw.salt)
	return pw, nil
}

// Add seals payload (the blob's plaintext, or its zstd form if compressed)
// and writes it. Before writing, it opens the sealed bytes again,
// decompresses and re-hashes them, and fails with ErrVerify unless that
// gives id: a RAM or CPU fault must not reach storage.
func (w *Writer) Add(t blob.Type, id blob.ID, payload []byte, rawLen int, compressed bool) error {
	if w.closed {
		return errors.New("pack writer is closed")
	}
	if len(w.entries) > 0 && w.entries[0].Type != t {
		return fmt.Errorf("add %v blob to a %v pack", t, w.entries[0].Type)
	}
	sealedLen := uint64(len(payload)) + crypto.Overhead
	if rawLen > MaxPlaintext || uint64(w.off)+sealedLen > math.MaxUint32 {
		return fmt.Errorf("add blob %v: pack would exceed 4 GiB", id.Short())
	}
	if compressed != (len(payload) < rawLen) || (!compressed && len(payload) != rawLen) {
		return fmt.Errorf("add blob %v: payload of %d bytes inconsistent with plaintext of %d", id.Short(), len(payload), rawLen)
	}
	ad := crypto.BlobAD(t, id)
	nonce := crypto.OffsetNonce(w.off)
	if w.scratch == nil {
		w.scratch, _ = scratchPool.Get().(*scratch)
		if w.scratch == nil {
			w.scratch = new(scratch)
		}
	}
	sc := w.scratch
	sc.sealed = w.aead.Seal(sc.sealed[:0], nonce, payload, ad)
	e := Entry{Type: t, ID: id, Offset: w.off, Length: uint32(len(sc.sealed)), RawLength: uint32(rawLen), Compressed: compressed}
	// Open into a buffer of its own: the sealed bytes stay as they are,
	// to be written once they have checked out.
	if cap(sc.opened) < len(sc.sealed) {
		sc.opened = make([]byte, 0, len(sc.sealed))
	}
	plain, err := openEntryInto(w.key, w.aead, e, sc.sealed, sc.opened[:0], sc.plain)
	if err != nil {
		return fmt.Errorf("blob %v: %w", id, ErrVerify)
	}
	if e.Compressed && cap(plain) > cap(sc.plain) {
		sc.plain = plain[:0] // a larger buffer was needed; keep it
	}
	if _, err := w.w.Write(sc.sealed); err != nil {
		return fmt.Errorf("write pack: %w", err)
	}
	w.off += e.Length
	w.entries = append(w.entries, e)
	return nil
}

// Count returns the number of blobs added.
func (w *Writer) Count() int { return len(w.entries) }

// Size returns the bytes written so far, excluding header and trailer.
func (w *Writer) Size() int64 { return int64(w.off) }

// Entries returns the blobs written, in file order.
func (w *Writer) Entries() []Entry { return w.entries }

// Salt returns the pack's salt, which index files repeat.
func (w *Writer) Salt() [crypto.PackSaltSize]byte { return w.salt }

// Close writes the sealed header and the trailer.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.scratch != nil {
		scratchPool.Put(w.scratch)
		w.scratch = nil
	}
	hdr := encodeHeader(w.entries)
	sealed := w.aead.Seal(nil, crypto.HeaderNonce(), hdr, headerAD)
	tr := make([]byte, 0, TrailerSize)
	tr = append(tr, w.salt[:]...)
	tr = binary.LittleEndian.AppendUint32(tr, uint32(len(sealed)))
	tr = append(tr, Version)
	tr = append(tr, Magic...)
	if _, err := w.w.Write(append(sealed, tr...)); err != nil {
		return fmt.Errorf("write pack header: %w", err)
	}
	return nil
}

func encodeHeader(entries []Entry) []byte {
	b := make([]byte, 0, headerPrefix+len(entries)*EntrySize)
	b = append(b, headerVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(entries)))
	for _, e := range entries {
		var flags byte
		if e.Compressed {
			flags = flagZstd
		}
		b = append(b, byte(e.Type), flags)
		b = append(b, e.ID[:]...)
		b = binary.LittleEndian.AppendUint32(b, e.Length)
		b = binary.LittleEndian.AppendUint32(b, e.RawLength)
	}
	return b
}
