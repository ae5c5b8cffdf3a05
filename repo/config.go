package repo

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/chunk"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/pack"
	"github.com/restic/chunker"
)

// Config is the repository's configuration (doc/design.md §5).
type Config struct {
	ID       blob.ID
	Chunker  chunk.Params
	PackSize uint32
	// Lock, when set, is the object lock every stored file gets (S3 object
	// lock): written in config version 2.
	Lock LockPolicy
}

// LockPolicy is the object lock of a repository's files: each file is
// retained (not deletable, not overwritable) for Period after it is
// written, and prune extends the retention of what is still in use.
type LockPolicy struct {
	Mode   string        // "governance" or "compliance"; "" for none
	Period time.Duration // whole seconds, at least a day
}

// Lock modes.
const (
	LockGovernance = "governance"
	LockCompliance = "compliance"
)

// Enabled reports whether files are locked.
func (p LockPolicy) Enabled() bool { return p.Mode != "" }

// Validate checks a lock policy.
func (p LockPolicy) Validate() error {
	switch p.Mode {
	case "":
		return nil
	case LockGovernance, LockCompliance:
	default:
		return fmt.Errorf("lock mode %q: want governance or compliance", p.Mode)
	}
	if p.Period < time.Second || p.Period%time.Second != 0 || p.Period > 100*365*24*time.Hour {
		return fmt.Errorf("lock period %v: want whole seconds up to 100 years", p.Period)
	}
	return nil
}

// Pack size bounds and default.
const (
	DefaultPackSize = 16 << 20
	MinPackSize     = 64 << 10
	MaxPackSize     = 2 << 30
	configVersion   = 1
	configSize      = 1 + 32 + 8 + 4 + 4 + 1 + 4
	// Version 2 adds the lock policy: mode byte (1 governance, 2
	// compliance) and the period in seconds (u64).
	configVersionLock = 2
	configSizeLock    = configSize + 1 + 8
)

// ErrConfig is returned (wrapped) for an invalid config payload.
var ErrConfig = errors.New("invalid repository config")

func newConfig(packSize uint32) (Config, error) {
	var c Config
	if _, err := rand.Read(c.ID[:]); err != nil {
		return c, err
	}
	p, err := chunk.NewParams()
	if err != nil {
		return c, err
	}
	c.Chunker, c.PackSize = p, packSize
	if c.PackSize == 0 {
		c.PackSize = DefaultPackSize
	}
	return c, c.Validate()
}

// Validate checks the config's values.
func (c Config) Validate() error {
	if c.PackSize < MinPackSize || c.PackSize > MaxPackSize {
		return fmt.Errorf("pack size %d out of range %d..%d: %w", c.PackSize, MinPackSize, MaxPackSize, ErrConfig)
	}
	if err := c.Chunker.Validate(); err != nil {
		return fmt.Errorf("%v: %w", err, ErrConfig)
	}
	if err := c.Lock.Validate(); err != nil {
		return fmt.Errorf("%v: %w", err, ErrConfig)
	}
	return nil
}

// Encode returns the config payload: version 1 without a lock policy,
// version 2 with one.
func (c Config) Encode() []byte {
	b := make([]byte, 0, configSizeLock)
	if c.Lock.Enabled() {
		b = append(b, configVersionLock)
	} else {
		b = append(b, configVersion)
	}
	b = append(b, c.ID[:]...)
	b = binary.LittleEndian.AppendUint64(b, uint64(c.Chunker.Pol))
	b = binary.LittleEndian.AppendUint32(b, c.Chunker.Min)
	b = binary.LittleEndian.AppendUint32(b, c.Chunker.Max)
	b = append(b, c.Chunker.AvgBits)
	b = binary.LittleEndian.AppendUint32(b, c.PackSize)
	if c.Lock.Enabled() {
		mode := byte(1)
		if c.Lock.Mode == LockCompliance {
			mode = 2
		}
		b = append(b, mode)
		b = binary.LittleEndian.AppendUint64(b, uint64(c.Lock.Period/time.Second))
	}
	return b
}

// DecodeConfig parses and validates a config payload.
func DecodeConfig(b []byte) (Config, error) {
	var c Config
	switch {
	case len(b) == configSize && b[0] == configVersion:
	case len(b) == configSizeLock && b[0] == configVersionLock:
		switch b[configSize] {
		case 1:
			c.Lock.Mode = LockGovernance
		case 2:
			c.Lock.Mode = LockCompliance
		default:
			return c, fmt.Errorf("config lock mode %d: %w", b[configSize], ErrConfig)
		}
		secs := binary.LittleEndian.Uint64(b[configSize+1:])
		if secs > uint64(100*365*24*3600) {
			return c, fmt.Errorf("config lock period of %d seconds: %w", secs, ErrConfig)
		}
		c.Lock.Period = time.Duration(secs) * time.Second
	default:
		return c, fmt.Errorf("config of %d bytes, version %d: %w", len(b), firstByte(b), ErrConfig)
	}
	copy(c.ID[:], b[1:33])
	c.Chunker = chunk.Params{
		Pol:     chunker.Pol(binary.LittleEndian.Uint64(b[33:])),
		Min:     binary.LittleEndian.Uint32(b[41:]),
		Max:     binary.LittleEndian.Uint32(b[45:]),
		AvgBits: b[49],
	}
	c.PackSize = binary.LittleEndian.Uint32(b[50:])
	return c, c.Validate()
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

// sealConfig returns the stored bytes of the config file: an envelope
// followed by its own hash.
func sealConfig(key *crypto.Key, c Config) ([]byte, error) {
	env, err := sealFile(key, crypto.KindConfig, c.Encode())
	if err != nil {
		return nil, err
	}
	sum := crypto.Hash(env)
	return append(env, sum[:]...), nil
}

// openConfig checks the config file's hash, then opens it.
func openConfig(key *crypto.Key, data []byte) (Config, error) {
	if len(data) < blob.IDSize {
		return Config{}, fmt.Errorf("config file of %d bytes: %w", len(data), crypto.ErrCorrupt)
	}
	env, sum := data[:len(data)-blob.IDSize], data[len(data)-blob.IDSize:]
	if h := crypto.Hash(env); !bytes.Equal(h[:], sum) {
		return Config{}, fmt.Errorf("config file hash mismatch: %w", crypto.ErrCorrupt)
	}
	payload, err := openFile(key, crypto.KindConfig, env)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return DecodeConfig(payload)
}

// sealFile frames payload (compressing it when worthwhile) and seals it.
func sealFile(key *crypto.Key, kind byte, payload []byte) ([]byte, error) {
	var framed []byte
	if len(payload) >= 512 {
		framed = binary.AppendUvarint([]byte{1}, uint64(len(payload)))
		var ok bool
		if framed, ok = pack.Compress(pack.CompressionAuto, framed, payload); !ok {
			framed = nil
		}
	}
	if framed == nil {
		framed = append([]byte{0}, payload...)
	}
	return key.Seal(kind, framed)
}

// openFile opens an envelope and undoes its framing.
func openFile(key *crypto.Key, kind byte, data []byte) ([]byte, error) {
	framed, err := key.Open(kind, data)
	if err != nil {
		return nil, err
	}
	return unframe(framed)
}

func unframe(framed []byte) ([]byte, error) {
	if len(framed) == 0 {
		return nil, fmt.Errorf("empty envelope payload: %w", crypto.ErrCorrupt)
	}
	switch framed[0] {
	case 0:
		return framed[1:], nil
	case 1:
		n, k := binary.Uvarint(framed[1:])
		if k <= 0 || n > pack.MaxPlaintext {
			return nil, fmt.Errorf("envelope length: %w", crypto.ErrCorrupt)
		}
		out, err := pack.Decompress(framed[1+k:], int(n))
		if err != nil {
			return nil, fmt.Errorf("envelope: %v: %w", err, crypto.ErrCorrupt)
		}
		return out, nil
	}
	return nil, fmt.Errorf("envelope compression %d: %w", framed[0], crypto.ErrCorrupt)
}

// maxConfigFile bounds the config file FileIntact reads.
const maxConfigFile = 64 << 10

// FileIntact reports whether r holds a whole, undamaged file named h,
// without the password: a file's name is the hash of its bytes, and the
// config ends with the hash of what precedes it (design §3, §5). It
// reads r to its end.
func FileIntact(h backend.Handle, r io.Reader) (bool, error) {
	if h.Type == backend.Config {
		data, err := io.ReadAll(io.LimitReader(r, maxConfigFile+1))
		if err != nil {
			return false, err
		}
		if len(data) < blob.IDSize || len(data) > maxConfigFile {
			return false, nil
		}
		env, sum := data[:len(data)-blob.IDSize], data[len(data)-blob.IDSize:]
		want := crypto.Hash(env)
		return bytes.Equal(want[:], sum), nil
	}
	hs := crypto.NewHash()
	if _, err := io.Copy(hs, r); err != nil {
		return false, err
	}
	return hex.EncodeToString(hs.Sum(nil)) == h.Name, nil
}
