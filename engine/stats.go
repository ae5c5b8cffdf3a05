package engine

import (
	"context"
	"fmt"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
)

// Stats is what a set of snapshots holds and what it costs in storage.
type Stats struct {
	Snapshots int
	Files     uint64 // files, counted in every snapshot
	Logical   uint64 // bytes they restore to
	Blobs     int    // distinct blobs they use
	Raw       uint64 // plaintext bytes of those blobs
	Stored    uint64 // stored (compressed, sealed) bytes of those blobs
	Packs     int    // pack files in the repository
	RepoSize  uint64 // their bytes
	// UniqueFiles and UniqueSize count files with distinct contents once.
	UniqueFiles uint64
	UniqueSize  uint64
}

// DeduplicationRatio is logical bytes per unique byte (0 when empty).
func (s Stats) DeduplicationRatio() float64 { return ratio(s.Logical, s.Raw) }

// CompressionRatio is unique bytes per stored byte (0 when empty).
func (s Stats) CompressionRatio() float64 { return ratio(s.Raw, s.Stored) }

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// ComputeStats walks every tree of snaps once per snapshot, counting each
// blob once, and measures the pack files.
func ComputeStats(ctx context.Context, r *repo.Repository, snaps []*snapshot.Snapshot) (*Stats, error) {
	st := &Stats{Snapshots: len(snaps)}
	seen := map[blob.Handle]bool{}
	contents := map[string]bool{} // distinct file contents (blob lists)
	add := func(h blob.Handle) {
		if seen[h] {
			return
		}
		seen[h] = true
		if loc, ok := r.Index().Lookup(h); ok {
			st.Raw += uint64(loc.Entry.RawLength)
			st.Stored += uint64(loc.Entry.Length)
		}
	}
	for _, s := range snaps {
		add(blob.Handle{Type: blob.Tree, ID: s.Tree})
		err := snapshot.Walk(ctx, r, s.Tree, "/", nil, func(p string, n *snapshot.Node) error {
			switch n.Type {
			case snapshot.TypeFile:
				st.Files++
				st.Logical += n.Size
				key := contentKey(n.Content)
				if !contents[key] {
					contents[key] = true
					st.UniqueFiles++
					st.UniqueSize += n.Size
				}
				for _, id := range n.Content {
					add(blob.Handle{Type: blob.Data, ID: id})
				}
			case snapshot.TypeDir:
				add(blob.Handle{Type: blob.Tree, ID: n.Subtree})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	st.Blobs = len(seen)
	err := r.Backend().List(ctx, backend.Pack, func(fi backend.FileInfo) error {
		st.RepoSize += uint64(fi.Size)
		st.Packs++
		return nil
	})
	return st, err
}

// contentKey identifies a file's content by its blob IDs.
func contentKey(ids []blob.ID) string {
	b := make([]byte, 0, len(ids)*blob.IDSize)
	for _, id := range ids {
		b = append(b, id[:]...)
	}
	return string(b)
}

// StatsModes are the --mode values of stats, as restic names them.
var StatsModes = []string{"restore-size", "files-by-contents", "raw-data", "blobs-per-file"}

// ByMode returns the file count and size that --mode reports: all files as
// restored (restore-size), files of distinct contents (files-by-contents),
// the unique data (raw-data), or files of distinct contents and the unique
// data they use (blobs-per-file).
func (s Stats) ByMode(mode string) (files, size uint64, err error) {
	switch mode {
	case "", "restore-size":
		return s.Files, s.Logical, nil
	case "files-by-contents":
		return s.UniqueFiles, s.UniqueSize, nil
	case "raw-data":
		return 0, s.Raw, nil
	case "blobs-per-file":
		return s.UniqueFiles, s.Raw, nil
	}
	return 0, 0, fmt.Errorf("--mode %q: want restore-size, files-by-contents, raw-data or blobs-per-file", mode)
}
