package index

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/pack"
)

// ErrFormat is returned (wrapped) for an index file whose payload is invalid.
var ErrFormat = errors.New("invalid index file")

const (
	fileVersion   = 1
	fileEntrySize = 1 + 1 + blob.IDSize + 4 + 4 + 4
	filePackSize  = blob.IDSize + crypto.PackSaltSize + 4
)

// Pack lists the blobs of one pack file.
type Pack struct {
	ID    blob.ID // the pack file's name
	Salt  [crypto.PackSaltSize]byte
	Blobs []pack.Entry
}

// File is the decoded payload of one index file.
type File struct {
	Supersedes []blob.ID
	Packs      []Pack
}

// MaxFileBlobs bounds the blobs one index file lists when cairn writes
// it (about 2.5 MB of payload): loading a repository's index then holds
// one small file's bytes at a time beside the index, not a whole
// backup's (a backup of a million small files wrote 34 MB index files,
// which cost 130 MB to load).
const MaxFileBlobs = 50000

// Split groups packs, in order, into runs of at most maxBlobs blobs each;
// a pack with more blobs than that is a run of its own. It returns no
// runs for no packs.
func Split(packs []Pack, maxBlobs int) [][]Pack {
	var runs [][]Pack
	start, n := 0, 0
	for i, p := range packs {
		if i > start && n+len(p.Blobs) > maxBlobs {
			runs = append(runs, packs[start:i:i])
			start, n = i, 0
		}
		n += len(p.Blobs)
	}
	if start < len(packs) {
		runs = append(runs, packs[start:])
	}
	return runs
}

// Encode returns the payload bytes of f.
func (f *File) Encode() []byte {
	n := 1 + 4 + len(f.Supersedes)*blob.IDSize + 4
	for _, p := range f.Packs {
		n += filePackSize + len(p.Blobs)*fileEntrySize
	}
	b := make([]byte, 0, n)
	b = append(b, fileVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Supersedes)))
	for _, id := range f.Supersedes {
		b = append(b, id[:]...)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Packs)))
	for _, p := range f.Packs {
		b = append(b, p.ID[:]...)
		b = append(b, p.Salt[:]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Blobs)))
		for _, e := range p.Blobs {
			var flags byte
			if e.Compressed {
				flags = 1
			}
			b = append(b, byte(e.Type), flags)
			b = append(b, e.ID[:]...)
			b = binary.LittleEndian.AppendUint32(b, e.Offset)
			b = binary.LittleEndian.AppendUint32(b, e.Length)
			b = binary.LittleEndian.AppendUint32(b, e.RawLength)
		}
	}
	return b
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n uint64) []byte {
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = fmt.Errorf("truncated: %w", ErrFormat)
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) u32() uint32 {
	if p := d.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) id() (id blob.ID) {
	copy(id[:], d.take(blob.IDSize))
	return id
}

// count reads a u32 count of items of the given minimum size and rejects
// counts the remaining bytes cannot hold, before anything is allocated.
func (d *decoder) count(itemSize uint64) int {
	n := uint64(d.u32())
	if d.err == nil && n*itemSize > uint64(len(d.b)) {
		d.err = fmt.Errorf("count %d exceeds data: %w", n, ErrFormat)
		return 0
	}
	return int(n)
}

// Decode parses an index file payload.
func Decode(b []byte) (*File, error) {
	d := &decoder{b: b}
	if v := d.take(1); v == nil || v[0] != fileVersion {
		return nil, fmt.Errorf("index version: %w", ErrFormat)
	}
	f := &File{}
	n := d.count(blob.IDSize)
	for i := 0; i < n && d.err == nil; i++ {
		f.Supersedes = append(f.Supersedes, d.id())
	}
	np := d.count(filePackSize)
	f.Packs = make([]Pack, 0, np)
	for i := 0; i < np && d.err == nil; i++ {
		var p Pack
		p.ID = d.id()
		copy(p.Salt[:], d.take(crypto.PackSaltSize))
		nb := d.count(fileEntrySize)
		p.Blobs = make([]pack.Entry, 0, nb)
		for j := 0; j < nb && d.err == nil; j++ {
			e, err := decodeEntry(d.take(fileEntrySize))
			if err != nil {
				return nil, fmt.Errorf("pack %v entry %d: %v: %w", p.ID.Short(), j, err, ErrFormat)
			}
			p.Blobs = append(p.Blobs, e)
		}
		f.Packs = append(f.Packs, p)
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes: %w", len(d.b), ErrFormat)
	}
	if d.err != nil {
		return nil, d.err
	}
	return f, nil
}

func decodeEntry(p []byte) (pack.Entry, error) {
	if len(p) != fileEntrySize {
		return pack.Entry{}, ErrFormat
	}
	if p[1] > 1 {
		return pack.Entry{}, fmt.Errorf("flags %#x", p[1])
	}
	e := pack.Entry{Type: blob.Type(p[0]), Compressed: p[1] == 1}
	copy(e.ID[:], p[2:34])
	e.Offset = binary.LittleEndian.Uint32(p[34:])
	e.Length = binary.LittleEndian.Uint32(p[38:])
	e.RawLength = binary.LittleEndian.Uint32(p[42:])
	if uint64(e.Offset)+uint64(e.Length) > 1<<32 {
		return e, errors.New("blob extends beyond 4 GiB")
	}
	return e, e.Validate()
}
