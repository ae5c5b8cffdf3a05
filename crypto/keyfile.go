package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/crypto/argon2"
)

// ErrWrongPassword is returned when a password opens no key file.
var ErrWrongPassword = errors.New("wrong password or no key found")

// KDFParams are argon2id's cost parameters, stored in each key file.
type KDFParams struct {
	Time      uint32 // iterations
	MemoryKiB uint32
	Threads   uint8
}

// DefaultKDF is used for new key files: 32 MiB, 6 passes, 2 lanes. That
// is the work of 64 MiB and 3 passes (the parameters of repositories made
// before) in half the memory: the derivation is the floor of every
// command's peak memory, and restic's scrypt uses 32 MiB too. Key files
// keep the parameters they were written with.
var DefaultKDF = KDFParams{Time: 6, MemoryKiB: 32 << 10, Threads: 2}

// Limits on KDF parameters accepted from a key file, checked before any
// memory is allocated.
const (
	MaxKDFMemoryKiB = 4 << 20 // 4 GiB
	MaxKDFTime      = 64
	MaxKDFThreads   = 64
)

// Validate rejects absurd parameters.
func (p KDFParams) Validate() error {
	switch {
	case p.Time < 1 || p.Time > MaxKDFTime:
		return fmt.Errorf("argon2 time %d out of range 1..%d", p.Time, MaxKDFTime)
	case p.Threads < 1 || p.Threads > MaxKDFThreads:
		return fmt.Errorf("argon2 threads %d out of range 1..%d", p.Threads, MaxKDFThreads)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > MaxKDFMemoryKiB:
		return fmt.Errorf("argon2 memory %d KiB out of range %d..%d", p.MemoryKiB, 8*uint32(p.Threads), MaxKDFMemoryKiB)
	}
	return nil
}

// KeyMeta describes a key file; it is stored encrypted under the master key.
type KeyMeta struct {
	Created time.Time
	Host    string
	User    string
}

// KeyFile is a parsed key file (doc/design.md §6). Parsing needs no password.
type KeyFile struct {
	Params  KDFParams
	salt    [16]byte
	nonce   [NonceSize]byte
	wrapped []byte // 80 bytes
	meta    []byte // envelope of kind KindKeyMeta
	header  []byte // bytes 0..42, the associated data
}

const (
	keyMagic      = "CRNK"
	keyVersion    = 1
	kdfArgon2id   = 1
	keyHeaderSize = 43
	keyFixedSize  = keyHeaderSize + MasterKeySize + Overhead
)

// NewKeyFile wraps master under password and returns the key file's bytes.
func NewKeyFile(master *Key, password []byte, p KDFParams, meta KeyMeta) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	buf := make([]byte, keyHeaderSize, keyFixedSize+128)
	copy(buf, keyMagic)
	buf[4], buf[5] = keyVersion, kdfArgon2id
	binary.LittleEndian.PutUint32(buf[6:], p.Time)
	binary.LittleEndian.PutUint32(buf[10:], p.MemoryKiB)
	buf[14] = p.Threads
	if _, err := rand.Read(buf[15:43]); err != nil {
		return nil, fmt.Errorf("new key file: %w", err)
	}
	aead := passwordAEAD(password, buf[15:31], p)
	buf = aead.Seal(buf, buf[31:43], master.bytes(), buf[:keyHeaderSize])
	m, err := master.Seal(KindKeyMeta, encodeMeta(meta))
	if err != nil {
		return nil, err
	}
	return append(buf, m...), nil
}

func passwordAEAD(password, salt []byte, p KDFParams) cipher.AEAD {
	k := argon2.IDKey(password, salt, p.Time, p.MemoryKiB, p.Threads, 32)
	if p.MemoryKiB >= 16<<10 {
		// Collect argon2's memory (64 MiB by default) now: the command's
		// own work then reuses its pages. Left to the collector, it would
		// raise the next heap goal by as much, and every command's peak
		// memory by that much again.
		runtime.GC()
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// ParseKeyFile checks a key file's structure and parameters.
func ParseKeyFile(data []byte) (*KeyFile, error) {
	if len(data) < keyFixedSize {
		return nil, fmt.Errorf("key file of %d bytes is too short: %w", len(data), ErrCorrupt)
	}
	if string(data[:4]) != keyMagic {
		return nil, fmt.Errorf("not a cairn key file: %w", ErrCorrupt)
	}
	if data[4] != keyVersion || data[5] != kdfArgon2id {
		return nil, fmt.Errorf("key file version %d, KDF %d not supported: %w", data[4], data[5], ErrCorrupt)
	}
	kf := &KeyFile{
		Params: KDFParams{
			Time:      binary.LittleEndian.Uint32(data[6:]),
			MemoryKiB: binary.LittleEndian.Uint32(data[10:]),
			Threads:   data[14],
		},
		wrapped: data[keyHeaderSize:keyFixedSize],
		meta:    data[keyFixedSize:],
		header:  data[:keyHeaderSize],
	}
	if err := kf.Params.Validate(); err != nil {
		return nil, fmt.Errorf("key file: %v: %w", err, ErrCorrupt)
	}
	copy(kf.salt[:], data[15:31])
	copy(kf.nonce[:], data[31:43])
	return kf, nil
}

// Unlock derives the password key and unwraps the master key.
func (kf *KeyFile) Unlock(password []byte) (*Key, error) {
	aead := passwordAEAD(password, kf.salt[:], kf.Params)
	raw, err := aead.Open(nil, kf.nonce[:], kf.wrapped, kf.header)
	if err != nil {
		return nil, ErrWrongPassword
	}
	return keyFromBytes(raw), nil
}

// Meta decrypts the key's metadata with the master key.
func (kf *KeyFile) Meta(master *Key) (KeyMeta, error) {
	pt, err := master.Open(KindKeyMeta, kf.meta)
	if err != nil {
		return KeyMeta{}, fmt.Errorf("key metadata: %w", err)
	}
	return decodeMeta(pt)
}

func encodeMeta(m KeyMeta) []byte {
	b := []byte{1}
	b = binary.LittleEndian.AppendUint64(b, uint64(m.Created.UnixNano()))
	b = binary.AppendUvarint(b, uint64(len(m.Host)))
	b = append(b, m.Host...)
	b = binary.AppendUvarint(b, uint64(len(m.User)))
	return append(b, m.User...)
}

func decodeMeta(b []byte) (KeyMeta, error) {
	var m KeyMeta
	if len(b) < 9 || b[0] != 1 {
		return m, fmt.Errorf("key metadata: %w", ErrCorrupt)
	}
	m.Created = time.Unix(0, int64(binary.LittleEndian.Uint64(b[1:]))).UTC()
	rd := bytes.NewReader(b[9:])
	var err error
	if m.Host, err = readStr(rd); err != nil {
		return m, err
	}
	m.User, err = readStr(rd)
	return m, err
}

func readStr(rd *bytes.Reader) (string, error) {
	n, err := binary.ReadUvarint(rd)
	if err != nil || n > uint64(rd.Len()) {
		return "", fmt.Errorf("key metadata string: %w", ErrCorrupt)
	}
	b := make([]byte, n)
	_, _ = rd.Read(b)
	return string(b), nil
}
