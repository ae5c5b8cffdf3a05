package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/chunk"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/pack"
)

// Stage is one backup stage's single-core throughput on a dataset.
type Stage struct {
	Name      string  `json:"stage"`
	MBps      float64 `json:"mb_per_s"`
	NsPerByte float64 `json:"ns_per_byte"` // per byte of file data
}

// Ceiling is the pipeline ceiling of a first backup of a dataset: every
// byte passes every stage, so one core handles 1/(sum of ns/byte) bytes a
// nanosecond, and the ceiling is that times the cores. Reading the files
// is not included (the data is in the page cache).
type Ceiling struct {
	SampleBytes int64   `json:"sample_bytes"`
	Stages      []Stage `json:"stages"`
	Cores       int     `json:"cores"`
	MBps        float64 `json:"mb_per_s"`
}

// MeasureCeiling runs each stage of a backup alone, on one core, over up
// to sample bytes of files (in order), with the repository's real code:
// chunking, keyed BLAKE3 IDs, zstd at the default level, and pack writing
// (sealing, then opening, decompressing and re-hashing every blob before
// it is written).
func MeasureCeiling(files []string, sampleBytes int64) (*Ceiling, error) {
	sm, err := readSample(files, sampleBytes)
	if err != nil {
		return nil, err
	}
	c := &Ceiling{SampleBytes: sm.total, Cores: runtime.GOMAXPROCS(0)}
	// In pipeline order: each stage works on what the one before made.
	stages := []struct {
		name string
		run  func() error
	}{
		{"chunking", sm.chunkAll},
		{"hashing (keyed BLAKE3)", sm.hashAll},
		{"compression (zstd auto)", sm.compressAll},
		{"pack writing with verification", sm.packAll},
	}
	var sum float64
	for _, st := range stages {
		runtime.GC()
		start := time.Now()
		if err := st.run(); err != nil {
			return nil, fmt.Errorf("%s: %w", st.name, err)
		}
		ns := float64(time.Since(start).Nanoseconds()) / float64(sm.total)
		c.Stages = append(c.Stages, Stage{Name: st.name, NsPerByte: ns, MBps: 1e3 / ns})
		sum += ns
	}
	c.MBps = float64(c.Cores) * 1e3 / sum
	return c, nil
}

// sample is the data a ceiling is measured on, and what each stage makes
// of it for the next.
type sample struct {
	data       [][]byte
	total      int64
	params     chunk.Params
	key        *crypto.Key
	chunks     [][]byte
	ids        []blob.ID
	payloads   [][]byte
	compressed []bool
}

// readSample reads up to n bytes of files, in order.
func readSample(files []string, n int64) (*sample, error) {
	sm := &sample{}
	for _, f := range files {
		if sm.total >= n {
			break
		}
		b, err := readAtMost(f, n-sm.total)
		if err != nil {
			return nil, err
		}
		sm.data = append(sm.data, b)
		sm.total += int64(len(b))
	}
	if sm.total == 0 {
		return nil, fmt.Errorf("no file data to measure")
	}
	var err error
	if sm.params, err = chunk.NewParams(); err != nil {
		return nil, err
	}
	if sm.key, err = crypto.NewRandomKey(); err != nil {
		return nil, err
	}
	return sm, nil
}

// chunkAll cuts every file into chunks, copying each once, as a backup
// copies each chunk.
func (sm *sample) chunkAll() error {
	arena := make([]byte, 0, sm.total)
	for _, d := range sm.data {
		ch := sm.params.New(bytes.NewReader(d))
		for {
			b, err := ch.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				ch.Release()
				return err
			}
			start := len(arena)
			arena = append(arena, b...)
			sm.chunks = append(sm.chunks, arena[start:len(arena):len(arena)])
		}
		ch.Release()
	}
	return nil
}

func (sm *sample) hashAll() error {
	sm.ids = make([]blob.ID, len(sm.chunks))
	for i, b := range sm.chunks {
		sm.ids[i] = sm.key.ID(b)
	}
	return nil
}

func (sm *sample) compressAll() error {
	sm.payloads = make([][]byte, len(sm.chunks))
	sm.compressed = make([]bool, len(sm.chunks))
	for i, b := range sm.chunks {
		sm.payloads[i], sm.compressed[i] = pack.Compress(pack.CompressionAuto, nil, b)
	}
	return nil
}

// packAll seals, verifies and writes every payload into 16 MiB packs.
func (sm *sample) packAll() error {
	var buf bytes.Buffer
	w, err := pack.NewWriter(&buf, sm.key)
	if err != nil {
		return err
	}
	for i, p := range sm.payloads {
		if err := w.Add(blob.Data, sm.ids[i], p, len(sm.chunks[i]), sm.compressed[i]); err != nil {
			return err
		}
		if buf.Len() >= 16<<20 {
			if err := w.Close(); err != nil {
				return err
			}
			buf.Reset()
			if w, err = pack.NewWriter(&buf, sm.key); err != nil {
				return err
			}
		}
	}
	return w.Close()
}

func readAtMost(name string, n int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return io.ReadAll(io.LimitReader(f, n))
}
