package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/cairn-backup/cairn/blob"
	"github.com/zeebo/blake3"
)

// Sizes of keys, salts, nonces and tags.
const (
	MasterKeySize = 64
	PackSaltSize  = 16
	FileSaltSize  = 32
	NonceSize     = 12
	Overhead      = 16 // AEAD tag bytes added by sealing
)

// ErrCorrupt is returned (wrapped) when sealed data fails authentication or is
// malformed: the stored bytes are damaged or were tampered with.
var ErrCorrupt = errors.New("data is corrupt or was tampered with")

// Key is a repository's master key. It is never printed or logged.
type Key struct {
	enc  [32]byte
	id   [32]byte
	pool sync.Pool // of *blake3.Hasher keyed with id
}

// NewRandomKey draws a new master key from the system's CSPRNG.
func NewRandomKey() (*Key, error) {
	var raw [MasterKeySize]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	return keyFromBytes(raw[:]), nil
}

func keyFromBytes(raw []byte) *Key {
	k := &Key{}
	copy(k.enc[:], raw[:32])
	copy(k.id[:], raw[32:64])
	return k
}

func (k *Key) bytes() []byte {
	b := make([]byte, 0, MasterKeySize)
	b = append(b, k.enc[:]...)
	return append(b, k.id[:]...)
}

// String hides the key material.
func (k *Key) String() string { return "crypto.Key(redacted)" }

// ID returns the keyed BLAKE3-256 hash of data: a blob ID.
func (k *Key) ID(data []byte) blob.ID {
	h, _ := k.pool.Get().(*blake3.Hasher)
	if h == nil {
		var err error
		h, err = blake3.NewKeyed(k.id[:])
		if err != nil {
			panic(err) // the key is always 32 bytes
		}
	} else {
		h.Reset()
	}
	_, _ = h.Write(data)
	var id blob.ID
	h.Sum(id[:0])
	k.pool.Put(h)
	return id
}

// Hash returns the unkeyed BLAKE3-256 hash of data: a stored file's name.
func Hash(data []byte) blob.ID { return blake3.Sum256(data) }

// NewHash returns a hash.Hash computing Hash of what is written to it:
// for a stored file read as a stream.
func NewHash() hash.Hash { return blake3.New() }

// HashParts is Hash of the parts one after another.
func HashParts(parts [][]byte) blob.ID {
	if len(parts) == 1 {
		return Hash(parts[0])
	}
	h := blake3.New()
	for _, p := range parts {
		_, _ = h.Write(p)
	}
	var id blob.ID
	h.Sum(id[:0])
	return id
}

func (k *Key) derive(salt []byte, purpose string) cipher.AEAD {
	sub, err := hkdf.Key(sha256.New, k.enc[:], salt, "cairn v1 "+purpose, 32)
	if err != nil {
		panic(err) // only for lengths far beyond 32
	}
	block, err := aes.NewCipher(sub)
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// PackAEAD returns the AEAD that seals the pack with the given salt.
func (k *Key) PackAEAD(salt [PackSaltSize]byte) cipher.AEAD { return k.derive(salt[:], "pack") }

// FileAEAD returns the AEAD that seals the envelope with the given salt.
func (k *Key) FileAEAD(salt [FileSaltSize]byte) cipher.AEAD { return k.derive(salt[:], "file") }

// OffsetNonce returns the nonce of the blob at offset in a pack.
func OffsetNonce(offset uint32) []byte {
	n := make([]byte, NonceSize)
	binary.LittleEndian.PutUint32(n, offset)
	return n
}

// HeaderNonce returns the nonce of a pack header, which no offset reaches.
func HeaderNonce() []byte {
	n := make([]byte, NonceSize)
	for i := range n {
		n[i] = 0xff
	}
	return n
}

// BlobAD returns the associated data binding a sealed blob to its type and ID.
func BlobAD(t blob.Type, id blob.ID) []byte {
	ad := make([]byte, 1+blob.IDSize)
	ad[0] = byte(t)
	copy(ad[1:], id[:])
	return ad
}

// NewRandomKeySharingID draws a new master key whose ID key is other's: a
// repository made with it computes the same blob IDs as other's, so copy
// can tell which blobs the destination already has without reading them.
// The encryption keys stay independent.
func NewRandomKeySharingID(other *Key) (*Key, error) {
	k, err := NewRandomKey()
	if err != nil {
		return nil, err
	}
	k.id = other.id
	return k, nil
}
