package bench

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Profiles lists the dataset profiles Generate knows.
var Profiles = []string{"tree", "bigfiles", "manysmall", "vmimage"}

// GenOptions describe a dataset.
type GenOptions struct {
	Profile string
	Size    int64  // total bytes, approximately
	Seed    uint64 // the same seed gives the same bytes
	Version int    // vmimage: version N changes 1% of blocks N times over
}

var words = []string{"func", "return", "if", "err", "nil", "for", "range", "struct", "type", "package", "import",
	"the", "a", "of", "to", "and", "in", "is", "that", "int", "string", "byte", "len", "var", "const", "switch",
	"case", "default", "break", "go", "defer", "select", "chan", "map", "interface", "error", "true", "false",
	"{", "}", "(", ")", "[", "]", ":=", "=", "==", "!=", "//", "\n", "\n\t", "\n\t\t", "0", "1", "x", "i", "n"}

// gen writes content of three kinds, mixed as real data is: text-like
// (compresses about 3:1), already compressed (random), and repeats of
// earlier blocks (deduplicates).
type gen struct {
	r    *rand.Rand
	seen [][]byte // earlier 64 KiB blocks, for duplication
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 0x6361697266))} }

func (g *gen) text(w io.Writer, n int64) error {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriterSize(w, int(min(n, 1<<16)))
	}
	for written := int64(0); written < n; {
		word := words[g.r.IntN(len(words))]
		if int64(len(word)) > n-written {
			word = word[:n-written]
		}
		k, _ := bw.WriteString(word)
		written += int64(k)
		if written < n && g.r.IntN(3) > 0 {
			_ = bw.WriteByte(' ')
			written++
		}
	}
	return bw.Flush()
}

func (g *gen) random(w io.Writer, n int64) error {
	buf := make([]byte, min(n, 1<<16))
	for n > 0 {
		k := min(n, int64(len(buf)))
		for i := 0; i < int(k); i += 8 {
			v := g.r.Uint64()
			for j := 0; j < 8 && i+j < int(k); j++ {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// mixed writes n bytes in 64 KiB blocks: 60% text, 30% random, 10% a
// repeat of an earlier block.
func (g *gen) mixed(w io.Writer, n int64) error {
	for n > 0 {
		k := min(n, 64<<10)
		switch p := g.r.IntN(10); {
		case p == 0 && len(g.seen) > 0:
			b := g.seen[g.r.IntN(len(g.seen))]
			if _, err := w.Write(b[:min(int64(len(b)), k)]); err != nil {
				return err
			}
			k = min(int64(len(b)), k)
		case p < 4:
			var b sliceWriter
			if err := g.random(&b, k); err != nil {
				return err
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
			g.remember(b)
		default:
			var b sliceWriter
			if err := g.text(&b, k); err != nil {
				return err
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
			g.remember(b)
		}
		n -= k
	}
	return nil
}

func (g *gen) remember(b []byte) {
	if len(g.seen) < 256 {
		g.seen = append(g.seen, b)
	} else if g.r.IntN(16) == 0 {
		g.seen[g.r.IntN(len(g.seen))] = b
	}
}

type sliceWriter []byte

func (s *sliceWriter) Write(p []byte) (int, error) { *s = append(*s, p...); return len(p), nil }

func writeFile(p string, n int64, fill func(io.Writer, int64) error) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	// Buffers no larger than the file: a million small files must not
	// cost a million 1 MiB allocations.
	bw := bufio.NewWriterSize(f, int(min(max(n, 16), 1<<20)))
	if err := fill(bw, n); err != nil {
		_ = f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// Generate writes a dataset into dir, which it creates.
func Generate(dir string, o GenOptions) (files int, err error) {
	g := newGen(o.Seed)
	switch o.Profile {
	case "tree":
		return genTree(dir, o.Size, g)
	case "bigfiles":
		n := max(1, int(o.Size/(2<<30)))
		for i := 0; i < n; i++ {
			if err := writeFile(filepath.Join(dir, fmt.Sprintf("big%02d.bin", i)), o.Size/int64(n), g.mixed); err != nil {
				return i, err
			}
		}
		return n, nil
	case "manysmall":
		count := int(max(1, o.Size/2048))
		for i := 0; i < count; i++ {
			p := filepath.Join(dir, fmt.Sprintf("d%04d", i/1000), fmt.Sprintf("f%07d", i))
			size := int64(1 + g.r.IntN(4095))
			fill := g.text
			if g.r.IntN(4) == 0 {
				fill = g.random
			}
			if err := writeFile(p, size, fill); err != nil {
				return i, err
			}
		}
		return count, nil
	case "vmimage":
		return 1, genVMImage(filepath.Join(dir, "disk.img"), o)
	}
	return 0, fmt.Errorf("unknown profile %q (want one of %v)", o.Profile, Profiles)
}

// genTree writes a source-code-like tree: nested directories, many small
// text files (median about 6 KiB), some binaries, some duplicate files.
func genTree(dir string, size int64, g *gen) (int, error) {
	var total int64
	files := 0
	var dirs []string
	for total < size {
		d := dir
		if len(dirs) > 0 && g.r.IntN(8) > 0 {
			d = dirs[g.r.IntN(len(dirs))]
		}
		if g.r.IntN(12) == 0 && len(dirs) < 20000 {
			d = filepath.Join(d, fmt.Sprintf("pkg%d", len(dirs)))
			dirs = append(dirs, d)
		}
		// Log-uniform sizes between 256 B and 256 KiB.
		n := int64(256) << g.r.IntN(11)
		n += g.r.Int64N(n)
		n = min(n, size-total+1)
		fill, ext := g.text, ".go"
		switch g.r.IntN(20) {
		case 0:
			fill, ext = g.random, ".png"
		case 1:
			fill, ext = g.mixed, ".dat"
		}
		if err := writeFile(filepath.Join(d, fmt.Sprintf("f%06d%s", files, ext)), n, fill); err != nil {
			return files, err
		}
		total += n
		files++
	}
	return files, nil
}

const vmBlock = 4096

// genVMImage writes version 0 of a disk image, then changes 1% of its
// blocks for each later version, deterministically.
func genVMImage(p string, o GenOptions) error {
	if err := writeFile(p, o.Size, newGen(o.Seed).mixed); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	blocks := max(1, o.Size/vmBlock)
	for v := 1; v <= o.Version; v++ {
		g := newGen(o.Seed + uint64(v)*7919)
		buf := make([]byte, vmBlock)
		for i := int64(0); i < max(1, blocks/100); i++ {
			b := g.r.Int64N(blocks)
			for j := range buf {
				buf[j] = byte(g.r.Uint32())
			}
			if _, err := f.WriteAt(buf, b*vmBlock); err != nil {
				return err
			}
		}
	}
	return nil
}
