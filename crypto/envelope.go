package crypto

import (
	"crypto/rand"
	"fmt"
)

// Envelope kinds (doc/design.md §4).
const (
	KindConfig   byte = 1
	KindIndex    byte = 2
	KindSnapshot byte = 3
	KindLock     byte = 4
	KindKeyMeta  byte = 5
	// KindRecordMin is the smallest kind used by records.
	KindRecordMin byte = 16
)

// EnvelopeVersion is the version byte of envelopes.
const EnvelopeVersion = 1

const envelopeHeader = 2 + FileSaltSize

// Seal returns the envelope of the given kind holding plaintext.
func (k *Key) Seal(kind byte, plaintext []byte) ([]byte, error) {
	var salt [FileSaltSize]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	out := make([]byte, envelopeHeader, envelopeHeader+len(plaintext)+Overhead)
	out[0], out[1] = EnvelopeVersion, kind
	copy(out[2:], salt[:])
	return k.FileAEAD(salt).Seal(out, make([]byte, NonceSize), plaintext, out[:2]), nil
}

// EnvelopeKind returns the kind of an envelope without opening it.
func EnvelopeKind(data []byte) (byte, error) {
	if len(data) < envelopeHeader+Overhead {
		return 0, fmt.Errorf("envelope of %d bytes is too short: %w", len(data), ErrCorrupt)
	}
	if data[0] != EnvelopeVersion {
		return 0, fmt.Errorf("envelope version %d is not supported (this cairn reads version %d)", data[0], EnvelopeVersion)
	}
	return data[1], nil
}

// Open authenticates and decrypts an envelope, which must be of kind want.
func (k *Key) Open(want byte, data []byte) ([]byte, error) {
	return k.open(want, data, nil)
}

// OpenInPlace is Open decrypting into data's own storage, which it
// overwrites: for a file just read, whose sealed bytes are not needed
// again (an index file of a million blobs is tens of MB).
func (k *Key) OpenInPlace(want byte, data []byte) ([]byte, error) {
	if len(data) < envelopeHeader {
		return k.open(want, data, nil) // reports the short envelope
	}
	return k.open(want, data, data[envelopeHeader:envelopeHeader])
}

func (k *Key) open(want byte, data, dst []byte) ([]byte, error) {
	kind, err := EnvelopeKind(data)
	if err != nil {
		return nil, err
	}
	if kind != want {
		return nil, fmt.Errorf("envelope is of kind %d, want %d: %w", kind, want, ErrCorrupt)
	}
	var salt [FileSaltSize]byte
	copy(salt[:], data[2:])
	pt, err := k.FileAEAD(salt).Open(dst, make([]byte, NonceSize), data[envelopeHeader:], data[:2])
	if err != nil {
		return nil, fmt.Errorf("open envelope: %w", ErrCorrupt)
	}
	return pt, nil
}
