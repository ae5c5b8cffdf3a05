package main

import (
	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

func newStatsCmd(g *globals) *cobra.Command {
	var f snapFilter
	cmd := &cobra.Command{
		Use:   "stats [SNAPSHOT...]",
		Short: "Show logical and stored sizes, deduplication and compression",
		Long: `For the given snapshots (default: all, narrowed by --host, --tag, --path),
show how much data they hold when restored (logical size), how much unique
data that is, how much space it takes in the repository, and the
deduplication and compression ratios.`,
		Example: `  cairn stats
  cairn stats latest --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			r, err := g.openRepo(ctx)
			if err != nil {
				return err
			}
			snaps, err := f.pick(ctx, r, args)
			if err != nil {
				return err
			}
			var files, logical, raw, stored uint64
			seen := map[blob.Handle]bool{}
			addBlob := func(h blob.Handle) {
				if seen[h] {
					return
				}
				seen[h] = true
				if loc, ok := r.Index().Lookup(h); ok {
					raw += uint64(loc.Entry.RawLength)
					stored += uint64(loc.Entry.Length)
				}
			}
			for _, s := range snaps {
				addBlob(blob.Handle{Type: blob.Tree, ID: s.Tree})
				err := snapshot.Walk(ctx, r, s.Tree, "/", nil, func(p string, n *snapshot.Node) error {
					switch n.Type {
					case snapshot.TypeFile:
						files++
						logical += n.Size
						for _, id := range n.Content {
							addBlob(blob.Handle{Type: blob.Data, ID: id})
						}
					case snapshot.TypeDir:
						addBlob(blob.Handle{Type: blob.Tree, ID: n.Subtree})
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			var repoSize uint64
			packs := 0
			if err := r.Backend().List(ctx, backend.Pack, func(fi backend.FileInfo) error {
				repoSize += uint64(fi.Size)
				packs++
				return nil
			}); err != nil {
				return err
			}
			dedup, comp := ratio(logical, raw), ratio(raw, stored)
			if g.json {
				return g.printJSON(message.StatsSummary{SnapshotsCount: len(snaps), TotalFileCount: files,
					TotalSize: logical, TotalUncompressedSize: raw, TotalBlobCount: len(seen),
					StoredSize: stored, DeduplicationRatio: dedup, CompressionRatio: comp,
					CompressionSpaceSaving: 100 * (1 - 1/max(comp, 1e-9)), PackCount: packs, RepositorySize: repoSize})
			}
			g.printf("Snapshots processed:   %d\n", len(snaps))
			g.printf("Total file count:      %d\n", files)
			g.printf("Logical size:          %s (restored size of all files)\n", ibytes(logical))
			g.printf("Unique data:           %s in %d blobs\n", ibytes(raw), len(seen))
			g.printf("Stored size:           %s (compressed, encrypted)\n", ibytes(stored))
			g.printf("Deduplication ratio:   %.2fx\n", dedup)
			g.printf("Compression ratio:     %.2fx\n", comp)
			g.printf("Repository pack files: %d, %s\n", packs, ibytes(repoSize))
			return nil
		},
	}
	f.addFlags(cmd.Flags())
	return cmd
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
