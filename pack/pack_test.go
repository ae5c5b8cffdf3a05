package pack

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
)

func newKey(t testing.TB) *crypto.Key {
	t.Helper()
	k, err := crypto.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testData returns n bytes: the first half text-like (words from a small
// vocabulary, compressible about 3:1), the second half random; seeded.
func testData(n int, seed uint64) []byte {
	words := []string{"backup", "restore", "the", "chunk", "pack", "index", "of", "and", "repository", "snapshot",
		"func", "return", "err", "nil", "if", "for", "range", "\n\t", "{", "}", "(", ")", "data", "key"}
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, 0, n)
	for len(b) < n/2 {
		b = append(b, words[r.IntN(len(words))]...)
		b = append(b, ' ')
	}
	b = b[:n/2]
	for len(b) < n {
		b = append(b, byte(r.Uint32()))
	}
	return b
}

func writePack(t testing.TB, key *crypto.Key, blobs [][]byte, c Compression) ([]byte, *Writer) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range blobs {
		payload, compressed := Compress(c, nil, p)
		if err := w.Add(blob.Data, key.ID(p), payload, len(p), compressed); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w
}

func TestRoundTrip(t *testing.T) {
	key := newKey(t)
	blobs := [][]byte{{}, []byte("x"), testData(100000, 1), bytes.Repeat([]byte("a"), 50000), testData(3000, 2)}
	for _, c := range []Compression{CompressionAuto, CompressionOff, CompressionMax} {
		data, w := writePack(t, key, blobs, c)
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), key)
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		if r.Salt() != w.Salt() || len(r.Entries()) != len(blobs) {
			t.Fatalf("%v: header mismatch", c)
		}
		for i, e := range r.Entries() {
			got, err := r.ReadBlob(e)
			if err != nil {
				t.Fatalf("%v: blob %d: %v", c, i, err)
			}
			if !bytes.Equal(got, blobs[i]) {
				t.Errorf("%v: blob %d differs", c, i)
			}
			if c == CompressionOff && e.Compressed {
				t.Errorf("compression off stored blob %d compressed", i)
			}
		}
		if got := FileSize(w.Entries()); got != int64(len(data)) {
			t.Errorf("%v: FileSize = %d, the pack has %d bytes", c, got, len(data))
		}
		if c == CompressionAuto && !r.Entries()[3].Compressed {
			t.Error("a run of 'a's was not compressed")
		}
	}
}

func TestDamageDetected(t *testing.T) {
	key := newKey(t)
	blobs := [][]byte{testData(5000, 3), testData(7000, 4)}
	data, w := writePack(t, key, blobs, CompressionAuto)
	e := w.Entries()[1]
	for _, pos := range []uint32{e.Offset, e.Offset + e.Length/2, e.Offset + e.Length - 1} {
		bad := bytes.Clone(data)
		bad[pos] ^= 1
		r, err := NewReader(bytes.NewReader(bad), int64(len(bad)), key)
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.ReadBlob(r.Entries()[1])
		var be *BlobError
		if !errors.As(err, &be) || be.Handle.ID != e.ID || !errors.Is(err, crypto.ErrCorrupt) {
			t.Errorf("flip at %d: %v, want BlobError naming the blob", pos, err)
		}
	}
	// Damage in the header fails the header's authentication.
	bad := bytes.Clone(data)
	bad[len(bad)-TrailerSize-1] ^= 1
	if _, err := NewReader(bytes.NewReader(bad), int64(len(bad)), key); !errors.Is(err, crypto.ErrCorrupt) {
		t.Errorf("header damage: %v", err)
	}
	// A blob read at another offset (a moved blob) fails.
	sealed := data[e.Offset : e.Offset+e.Length]
	moved := e
	moved.Offset = 0
	if _, err := OpenBlob(key, w.Salt(), moved, bytes.Clone(sealed)); err == nil {
		t.Error("blob opened at another offset")
	}
	if _, err := OpenBlob(newKey(t), w.Salt(), e, bytes.Clone(sealed)); err == nil {
		t.Error("blob opened with another key")
	}
	if _, err := NewReader(bytes.NewReader(data[:10]), 10, key); !errors.Is(err, ErrFormat) {
		t.Errorf("truncated pack: %v", err)
	}
}

// A writer refuses a blob whose payload does not hash to its ID: this is the
// check that keeps a RAM fault out of storage.
func TestWriterVerifies(t *testing.T) {
	key := newKey(t)
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, key)
	p := testData(1000, 5)
	id := key.ID(p)
	p[10] ^= 1 // a bit flips after the ID was computed
	if err := w.Add(blob.Data, id, p, len(p), false); !errors.Is(err, ErrVerify) {
		t.Errorf("Add of flipped blob: %v, want ErrVerify", err)
	}
	if buf.Len() != 0 {
		t.Error("a bad blob reached the output")
	}
	if err := w.Add(blob.Tree, key.ID(nil), nil, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(blob.Data, key.ID(nil), nil, 0, false); err == nil {
		t.Error("mixed blob types in one pack")
	}
}

func TestDecompressBounded(t *testing.T) {
	big := bytes.Repeat([]byte{0}, 1<<20)
	payload, ok := Compress(CompressionAuto, nil, big)
	if !ok {
		t.Fatal("zeros did not compress")
	}
	if _, err := Decompress(payload, 1000); !errors.Is(err, ErrBadCompression) {
		t.Errorf("decompress beyond recorded length: %v", err)
	}
	if got, err := Decompress(payload, len(big)); err != nil || !bytes.Equal(got, big) {
		t.Errorf("decompress: %v", err)
	}
	if _, err := Decompress(payload, MaxPlaintext+1); err == nil {
		t.Error("absurd plaintext length accepted")
	}
}

func FuzzDecodeHeader(f *testing.F) {
	key := newKey(f)
	_, w := writePack(f, key, [][]byte{[]byte("a"), testData(300, 1)}, CompressionAuto)
	f.Add(encodeHeader(w.Entries()))
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Add([]byte{1, 255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := DecodeHeader(b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeHeader(entries), b) {
			t.Error("header does not re-encode to the same bytes")
		}
	})
}

func FuzzNewReader(f *testing.F) {
	key := newKey(f)
	data, _ := writePack(f, key, [][]byte{[]byte("abc"), testData(2000, 9)}, CompressionAuto)
	f.Add(data)
	f.Add(data[len(data)-TrailerSize:])
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b), int64(len(b)), key)
		if err != nil {
			return
		}
		for _, e := range r.Entries() {
			_, _ = r.ReadBlob(e)
		}
	})
}

func FuzzDecompress(f *testing.F) {
	p, _ := Compress(CompressionAuto, nil, bytes.Repeat([]byte("ab"), 500))
	f.Add(p, 1000)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n > 1<<20 {
			return
		}
		if out, err := Decompress(b, n); err == nil && len(out) != n {
			t.Fatalf("decompressed %d bytes, want %d", len(out), n)
		}
	})
}

// TestPartsWriter checks that a pack sealed in place, as parts, is a pack
// like any other: its parts joined read back blob for blob, the blobs lie
// where they were gathered (no copy), and a payload without room for its
// tag or a blob that fails verification is refused.
func TestPartsWriter(t *testing.T) {
	key := newKey(t)
	blobs := [][]byte{[]byte("x"), testData(100000, 1), bytes.Repeat([]byte("a"), 50000), testData(3000, 2)}
	w, err := NewPartsWriter(key)
	if err != nil {
		t.Fatal(err)
	}
	var arena []byte
	var payloads [][]byte
	var compressed []bool
	for _, p := range blobs {
		payload, c := Compress(CompressionAuto, nil, p)
		start := len(arena)
		arena = append(arena, payload...)
		arena = append(arena, make([]byte, crypto.Overhead)...)
		payloads = append(payloads, arena[start:start+len(payload):start+len(payload)+crypto.Overhead])
		compressed = append(compressed, c)
	}
	for i, p := range blobs {
		if err := w.AddInPlace(blob.Data, key.ID(p), payloads[i], len(p), compressed[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Add(blob.Data, key.ID(blobs[0]), blobs[0], len(blobs[0]), false); err == nil {
		t.Error("Add on a writer of parts was accepted")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	parts := w.Parts()
	if len(parts) != len(blobs)+1 {
		t.Fatalf("%d parts for %d blobs, want one more (header and trailer)", len(parts), len(blobs))
	}
	for i := range blobs {
		if &parts[i][0] != &payloads[i][:1][0] {
			t.Errorf("blob %d was copied, not sealed where it lay", i)
		}
	}
	data := bytes.Join(parts, nil)
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), key)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range r.Entries() {
		got, err := r.ReadBlob(e)
		if err != nil || !bytes.Equal(got, blobs[i]) {
			t.Errorf("blob %d: %v", i, err)
		}
	}
	if got := FileSize(w.Entries()); got != int64(len(data)) {
		t.Errorf("FileSize = %d, the parts hold %d bytes", got, len(data))
	}

	w2, _ := NewPartsWriter(key)
	if err := w2.AddInPlace(blob.Data, key.ID([]byte("abc")), []byte("abc"), 3, false); err == nil {
		t.Error("a payload without room for its tag was accepted")
	}
	room := append([]byte("abc"), make([]byte, crypto.Overhead)...)[:3]
	if err := w2.AddInPlace(blob.Data, key.ID([]byte("abd")), room, 3, false); !errors.Is(err, ErrVerify) {
		t.Errorf("a blob under another's ID: %v, want ErrVerify", err)
	}
	w3, _ := NewWriter(&bytes.Buffer{}, key)
	if err := w3.AddInPlace(blob.Data, key.ID(room), room, 3, false); err == nil {
		t.Error("AddInPlace on a writer to an io.Writer was accepted")
	}
}
