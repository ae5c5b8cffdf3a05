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
	parts   [][]byte // the sealed blobs, header and trailer of a writer of parts
}

// scratch holds the buffers a Writer seals and verifies blobs in; they are
// recycled between packs so that no blob costs an allocation.
type scratch struct {
	sealed, opened, plain []byte
}

var scratchPool sync.Pool

// keepScratch is the largest scratch buffer a Writer keeps for the next.
const keepScratch = 2 << 20

// NewWriter starts a pack with a fresh random salt.
func NewWriter(w io.Writer, key *crypto.Key) (*Writer, error) {
	pw := &Writer{w: w, key: key}
	if _, err := rand.Read(pw.salt[:]); err != nil {
		return nil, fmt.Errorf("pack salt: %w", err)
	}
	pw.aead = key.PackAEAD(pw.salt)
	return pw, nil
}

// NewPartsWriter starts a pack that is kept as a list of parts instead of
// written: AddInPlace seals each blob where it lies, Close adds the header
// and trailer, and Parts returns the pack's bytes in file order. A pack
// gathered in one buffer is then stored without a second buffer of its
// size.
func NewPartsWriter(key *crypto.Key) (*Writer, error) {
	w, err := NewWriter(nil, key)
	if err != nil {
		return nil, err
	}
	w.parts = [][]byte{}
	return w, nil
}

// Parts returns the pack's bytes, in file order, of a writer from
// NewPartsWriter; complete after Close.
func (w *Writer) Parts() [][]byte { return w.parts }

// Add seals payload (the blob's plaintext, or its zstd form if compressed)
// and writes it. Before writing, it opens the sealed bytes again,
// decompresses and re-hashes them, and fails with ErrVerify unless that
// gives id: a RAM or CPU fault must not reach storage.
func (w *Writer) Add(t blob.Type, id blob.ID, payload []byte, rawLen int, compressed bool) error {
	if w.parts != nil {
		return errors.New("pack writer: Add on a writer of parts (use AddInPlace)")
	}
	sc, err := w.prepare(t, id, payload, rawLen, compressed)
	if err != nil {
		return err
	}
	sc.sealed = w.aead.Seal(sc.sealed[:0], crypto.OffsetNonce(w.off), payload, crypto.BlobAD(t, id))
	if err := w.verify(t, id, sc.sealed, rawLen, compressed); err != nil {
		return err
	}
	if _, err := w.w.Write(sc.sealed); err != nil {
		return fmt.Errorf("write pack: %w", err)
	}
	w.record(t, id, len(sc.sealed), rawLen, compressed)
	return nil
}

// AddInPlace is Add for a writer from NewPartsWriter: it seals payload
// where it lies, which needs crypto.Overhead bytes of capacity past its
// end, verifies it as Add does, and keeps the sealed bytes as the pack's
// next part. Nothing is copied; payload's storage must stay untouched
// until the parts are written.
func (w *Writer) AddInPlace(t blob.Type, id blob.ID, payload []byte, rawLen int, compressed bool) error {
	if w.parts == nil {
		return errors.New("pack writer: AddInPlace on a writer to an io.Writer (use Add)")
	}
	if cap(payload)-len(payload) < crypto.Overhead {
		return fmt.Errorf("add blob %v: no room to seal in place", id.Short())
	}
	if _, err := w.prepare(t, id, payload, rawLen, compressed); err != nil {
		return err
	}
	sealed := w.aead.Seal(payload[:0], crypto.OffsetNonce(w.off), payload, crypto.BlobAD(t, id))
	if err := w.verify(t, id, sealed, rawLen, compressed); err != nil {
		return err
	}
	w.parts = append(w.parts, sealed)
	w.record(t, id, len(sealed), rawLen, compressed)
	return nil
}

// prepare checks a blob before it is sealed and returns the scratch
// buffers to verify it in.
func (w *Writer) prepare(t blob.Type, id blob.ID, payload []byte, rawLen int, compressed bool) (*scratch, error) {
	if w.closed {
		return nil, errors.New("pack writer is closed")
	}
	if len(w.entries) > 0 && w.entries[0].Type != t {
		return nil, fmt.Errorf("add %v blob to a %v pack", t, w.entries[0].Type)
	}
	sealedLen := uint64(len(payload)) + crypto.Overhead
	if rawLen > MaxPlaintext || uint64(w.off)+sealedLen > math.MaxUint32 {
		return nil, fmt.Errorf("add blob %v: pack would exceed 4 GiB", id.Short())
	}
	if compressed != (len(payload) < rawLen) || (!compressed && len(payload) != rawLen) {
		return nil, fmt.Errorf("add blob %v: payload of %d bytes inconsistent with plaintext of %d", id.Short(), len(payload), rawLen)
	}
	if w.scratch == nil {
		w.scratch, _ = scratchPool.Get().(*scratch)
		if w.scratch == nil {
			w.scratch = new(scratch)
		}
	}
	return w.scratch, nil
}

// verify opens sealed (the blob at the writer's current offset) into a
// buffer of its own, decompresses and re-hashes it, and fails with
// ErrVerify unless that gives id. The sealed bytes stay as they are.
func (w *Writer) verify(t blob.Type, id blob.ID, sealed []byte, rawLen int, compressed bool) error {
	sc := w.scratch
	e := Entry{Type: t, ID: id, Offset: w.off, Length: uint32(len(sealed)), RawLength: uint32(rawLen), Compressed: compressed}
	if cap(sc.opened) < len(sealed) {
		sc.opened = make([]byte, 0, len(sealed))
	}
	plain, err := openEntryInto(w.key, w.aead, e, sealed, sc.opened[:0], sc.plain)
	if err != nil {
		return fmt.Errorf("blob %v: %w", id, ErrVerify)
	}
	if e.Compressed && cap(plain) > cap(sc.plain) {
		sc.plain = plain[:0] // a larger buffer was needed; keep it
	}
	return nil
}

// record adds a verified blob of sealedLen bytes at the current offset.
func (w *Writer) record(t blob.Type, id blob.ID, sealedLen, rawLen int, compressed bool) {
	w.entries = append(w.entries, Entry{Type: t, ID: id, Offset: w.off, Length: uint32(sealedLen), RawLength: uint32(rawLen), Compressed: compressed})
	w.off += uint32(sealedLen)
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
	if sc := w.scratch; sc != nil {
		// Buffers grown by a rare large blob are not kept: idle, they
		// would hold several times a typical blob each.
		for _, b := range []*[]byte{&sc.sealed, &sc.opened, &sc.plain} {
			if cap(*b) > keepScratch {
				*b = nil
			}
		}
		scratchPool.Put(sc)
		w.scratch = nil
	}
	hdr := encodeHeader(w.entries)
	sealed := w.aead.Seal(nil, crypto.HeaderNonce(), hdr, headerAD)
	tr := make([]byte, 0, TrailerSize)
	tr = append(tr, w.salt[:]...)
	tr = binary.LittleEndian.AppendUint32(tr, uint32(len(sealed)))
	tr = append(tr, Version)
	tr = append(tr, Magic...)
	tail := append(sealed, tr...)
	if w.parts != nil {
		w.parts = append(w.parts, tail)
		return nil
	}
	if _, err := w.w.Write(tail); err != nil {
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
