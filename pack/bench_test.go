package pack

import (
	"io"
	"testing"

	"github.com/cairn-backup/cairn/blob"
)

const benchBlob = 1 << 20

func BenchmarkCompress(b *testing.B) {
	src := testData(benchBlob, 7)
	for _, c := range []Compression{CompressionAuto, CompressionMax} {
		b.Run(c.String(), func(b *testing.B) {
			var dst []byte
			b.SetBytes(benchBlob)
			for b.Loop() {
				dst, _ = Compress(c, dst[:0], src)
			}
		})
	}
}

func BenchmarkDecompress(b *testing.B) {
	src := testData(benchBlob, 7)
	payload, _ := Compress(CompressionAuto, nil, src)
	b.SetBytes(benchBlob)
	for b.Loop() {
		if _, err := Decompress(payload, len(src)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPackWrite measures sealing plus the pre-write verification
// (open, decompress, re-hash) of already-compressed blobs, per plaintext byte.
func BenchmarkPackWrite(b *testing.B) {
	key := newKey(b)
	src := testData(benchBlob, 8)
	id := key.ID(src)
	payload, compressed := Compress(CompressionAuto, nil, src)
	b.SetBytes(benchBlob * 16)
	for b.Loop() {
		w, _ := NewWriter(io.Discard, key)
		for range 16 {
			if err := w.Add(blob.Data, id, payload, len(src), compressed); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
