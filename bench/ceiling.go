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
func MeasureCeiling(files []string, sample int64) (*Ceiling, error) {
	var data [][]byte
	var total int64
	for _, f := range files {
		if total >= sample {
			break
		}
		b, err := readAtMost(f, sample-total)
		if err != nil {
			return nil, err
		}
		data = append(data, b)
		total += int64(len(b))
	}
	if total == 0 {
		return nil, fmt.Errorf("no file data to measure")
	}
	params, err := chunk.NewParams()
	if err != nil {
		return nil, err
	}
	key, err := crypto.NewRandomKey()
	if err != nil {
		return nil, err
	}
	c := &Ceiling{SampleBytes: total, Cores: runtime.GOMAXPROCS(0)}
	stage := func(name string, fn func() error) error {
		runtime.GC()
		start := time.Now()
		if err := fn(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		ns := float64(time.Since(start).Nanoseconds()) / float64(total)
		c.Stages = append(c.Stages, Stage{Name: name, NsPerByte: ns, MBps: 1e3 / ns})
		return nil
	}
	var chunks [][]byte
	arena := make([]byte, 0, total)
	if err := stage("chunking", func() error {
		for _, d := range data {
			ch := params.New(bytes.NewReader(d))
			for {
				b, err := ch.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					ch.Release()
					return err
				}
				// Copied once, as a backup copies each chunk.
				start := len(arena)
				arena = append(arena, b...)
				chunks = append(chunks, arena[start:len(arena):len(arena)])
			}
			ch.Release()
		}
		return nil
	}); err != nil {
		return nil, err
	}
	ids := make([]blob.ID, len(chunks))
	if err := stage("hashing (keyed BLAKE3)", func() error {
		for i, b := range chunks {
			ids[i] = key.ID(b)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	payloads := make([][]byte, len(chunks))
	compressed := make([]bool, len(chunks))
	if err := stage("compression (zstd auto)", func() error {
		for i, b := range chunks {
			payloads[i], compressed[i] = pack.Compress(pack.CompressionAuto, nil, b)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := stage("pack writing with verification", func() error {
		var buf bytes.Buffer
		w, err := pack.NewWriter(&buf, key)
		if err != nil {
			return err
		}
		for i, p := range payloads {
			if err := w.Add(blob.Data, ids[i], p, len(chunks[i]), compressed[i]); err != nil {
				return err
			}
			if buf.Len() >= 16<<20 {
				if err := w.Close(); err != nil {
					return err
				}
				buf.Reset()
				if w, err = pack.NewWriter(&buf, key); err != nil {
					return err
				}
			}
		}
		return w.Close()
	}); err != nil {
		return nil, err
	}
	var sum float64
	for _, s := range c.Stages {
		sum += s.NsPerByte
	}
	c.MBps = float64(c.Cores) * 1e3 / sum
	return c, nil
}

func readAtMost(name string, n int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return io.ReadAll(io.LimitReader(f, n))
}
