package repo

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
)

// Subset chooses which packs check --read-data reads.
type Subset struct {
	N, M    int     // group N of M (1-based), by the pack name's first byte
	Percent float64 // a random share of the packs
	Bytes   uint64  // random packs until this many bytes
}

// ParseSubset parses "n/m", "P%" or a size such as "5G".
func ParseSubset(s string) (Subset, error) {
	bad := fmt.Errorf("--read-data-subset %q: want n/m, P%% or a size such as 5G", s)
	switch {
	case strings.Contains(s, "/"):
		a, b, _ := strings.Cut(s, "/")
		n, err1 := strconv.Atoi(a)
		m, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil || m < 1 || n < 1 || n > m || m > 256 {
			return Subset{}, bad
		}
		return Subset{N: n, M: m}, nil
	case strings.HasSuffix(s, "%"):
		p, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil || p <= 0 || p > 100 {
			return Subset{}, bad
		}
		return Subset{Percent: p}, nil
	}
	n, err := humanize.ParseBytes(s)
	if err != nil || n == 0 {
		return Subset{}, bad
	}
	return Subset{Bytes: n}, nil
}

// PackFile is a pack's name and size.
type PackFile struct {
	Name string
	Size int64
}

// Select returns the packs of the subset.
func (s Subset) Select(packs []PackFile) ([]PackFile, error) {
	if s.M > 0 {
		var out []PackFile
		for _, p := range packs {
			b, err := strconv.ParseUint(p.Name[:2], 16, 8)
			if err == nil && int(b)%s.M == s.N-1 {
				out = append(out, p)
			}
		}
		return out, nil
	}
	shuffled := append([]PackFile(nil), packs...)
	for i := len(shuffled) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return nil, err
		}
		shuffled[i], shuffled[j.Int64()] = shuffled[j.Int64()], shuffled[i]
	}
	if s.Percent > 0 {
		n := int(float64(len(packs))*s.Percent/100 + 0.999999)
		return sortPacks(shuffled[:min(n, len(shuffled))]), nil
	}
	var out []PackFile
	var total uint64
	for _, p := range shuffled {
		if total >= s.Bytes {
			break
		}
		out = append(out, p)
		total += uint64(p.Size)
	}
	return sortPacks(out), nil
}

func sortPacks(p []PackFile) []PackFile {
	sort.Slice(p, func(i, j int) bool { return p[i].Name < p[j].Name })
	return p
}
