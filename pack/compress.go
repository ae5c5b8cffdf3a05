package pack

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Compression chooses how hard blobs are compressed.
type Compression uint8

// Compression modes, as chosen with --compression.
const (
	CompressionAuto Compression = iota // fast zstd, the default
	CompressionOff                     // store payloads raw
	CompressionMax                     // best zstd compression, slow
)

// ParseCompression parses "auto", "off" or "max".
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "auto", "":
		return CompressionAuto, nil
	case "off":
		return CompressionOff, nil
	case "max":
		return CompressionMax, nil
	}
	return 0, fmt.Errorf("unknown compression %q (want auto, off or max)", s)
}

// String returns the mode's flag value.
func (c Compression) String() string {
	return [...]string{"auto", "off", "max"}[c%3]
}

// MaxPlaintext bounds the plaintext length of any blob or envelope payload.
const MaxPlaintext = 1 << 30

// ErrBadCompression is returned when a zstd payload does not decode to its
// recorded plaintext length.
var ErrBadCompression = errors.New("compressed payload does not match its recorded length")

var (
	encOnce  sync.Once
	encoders [3]*zstd.Encoder // indexed by Compression; [CompressionOff] unused
	decoder  *zstd.Decoder
)

// The zstd encoder and decoder keep internal pools of per-goroutine state,
// sized to GOMAXPROCS, and are safe for concurrent EncodeAll/DecodeAll.
func initCodecs() {
	n := runtime.GOMAXPROCS(0)
	mk := func(l zstd.EncoderLevel) *zstd.Encoder {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(l), zstd.WithEncoderConcurrency(n),
			zstd.WithEncoderCRC(false), zstd.WithZeroFrames(true), zstd.WithWindowSize(encoderWindow))
		if err != nil {
			panic(err)
		}
		return e
	}
	encoders[CompressionAuto] = mk(zstd.SpeedFastest)
	encoders[CompressionMax] = mk(zstd.SpeedBestCompression)
	var err error
	decoder, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(n),
		zstd.WithDecodeAllCapLimit(true), zstd.WithDecoderMaxMemory(MaxPlaintext))
	if err != nil {
		panic(err)
	}
}

// Compress appends the payload for src to dst: compressed when that is
// strictly smaller, else a copy of src. It reports whether it compressed.
func Compress(c Compression, dst, src []byte) ([]byte, bool) {
	if c != CompressionOff && len(src) > 0 {
		encOnce.Do(initCodecs)
		out := encoders[c].EncodeAll(src, dst)
		if len(out)-len(dst) < len(src) {
			return out, true
		}
		dst = out[:len(dst)]
	}
	return append(dst, src...), false
}

// Decompress decodes a zstd payload that must produce exactly rawLen bytes,
// never allocating or decoding more than that.
func Decompress(src []byte, rawLen int) ([]byte, error) {
	return decompressInto(nil, src, rawLen)
}

// decompressInto is Decompress writing into dst's array when it has room
// for rawLen bytes.
func decompressInto(dst, src []byte, rawLen int) ([]byte, error) {
	if rawLen < 0 || rawLen > MaxPlaintext {
		return nil, fmt.Errorf("plaintext length %d: %w", rawLen, ErrBadCompression)
	}
	encOnce.Do(initCodecs)
	var h zstd.Header
	if err := h.Decode(src); err != nil || (h.HasFCS && h.FrameContentSize != uint64(rawLen)) {
		return nil, ErrBadCompression
	}
	if cap(dst) >= rawLen {
		dst = dst[:0:rawLen] // the decoder is limited to this capacity
	} else {
		dst = make([]byte, 0, rawLen)
	}
	out, err := decoder.DecodeAll(src, dst)
	if err != nil || len(out) != rawLen {
		return nil, ErrBadCompression
	}
	return out, nil
}

// encoderWindow is how far back zstd looks for matches. Blobs are chunks
// of about 1 MiB (8 MiB at most), so the library's default of 8 MiB gains
// next to nothing and costs each encoder state an 8 MiB history buffer:
// on 2 GiB of bigfiles, a 1 MiB window stored the same bytes (1,232,316
// against 1,232,776 KiB with 2 MiB) and the backup peaked 3-10 MB lower.
const encoderWindow = 1 << 20
