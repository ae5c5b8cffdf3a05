package main

import (
	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/message"
	"github.com/spf13/cobra"
)

func newStatsCmd(g *globals) *cobra.Command {
	var f snapFilter
	var mode string
	cmd := &cobra.Command{
		Use:   "stats [SNAPSHOT...]",
		Short: "Show logical and stored sizes, deduplication and compression",
		Long: `For the given snapshots (default: all, narrowed by --host, --tag, --path),
show how much data they hold when restored (logical size), how much unique
data that is, how much space it takes in the repository, and the
deduplication and compression ratios.

--mode chooses what "total file count" and "total size" count, as in
restic: restore-size (every file as restored; the default),
files-by-contents (files of distinct contents once), raw-data (the unique
data) or blobs-per-file (files of distinct contents, and the unique data).`,
		Example: `  cairn stats
  cairn stats --mode raw-data
  cairn stats latest --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if _, _, err := (engine.Stats{}).ByMode(mode); err != nil {
				return err
			}
			r, err := g.openRepo(ctx)
			if err != nil {
				return err
			}
			snaps, err := f.pick(ctx, r, args)
			if err != nil {
				return err
			}
			st, err := engine.ComputeStats(ctx, r, snaps)
			if err != nil {
				return err
			}
			dedup, comp := st.DeduplicationRatio(), st.CompressionRatio()
			files, size, _ := st.ByMode(mode)
			if g.json {
				return g.printJSON(message.StatsSummary{MessageType: message.TypeSummary, MessageVersion: message.SchemaVersion, SnapshotsCount: st.Snapshots, TotalFileCount: files,
					TotalSize: size, TotalUncompressedSize: st.Raw, TotalBlobCount: st.Blobs,
					StoredSize: st.Stored, DeduplicationRatio: dedup, CompressionRatio: comp,
					CompressionSpaceSaving: 100 * (1 - 1/max(comp, 1e-9)), PackCount: st.Packs, RepositorySize: st.RepoSize})
			}
			g.printf("Snapshots processed:   %d\n", st.Snapshots)
			if mode != "" && mode != "restore-size" {
				g.printf("Stats in %s mode:\n", mode)
				if mode != "raw-data" {
					g.printf("Total file count:      %d\n", files)
				}
				g.printf("Total size:            %s\n", ibytes(size))
			} else {
				g.printf("Total file count:      %d\n", st.Files)
				g.printf("Logical size:          %s (restored size of all files)\n", ibytes(st.Logical))
			}
			g.printf("Unique data:           %s in %d blobs\n", ibytes(st.Raw), st.Blobs)
			g.printf("Stored size:           %s (compressed, encrypted)\n", ibytes(st.Stored))
			g.printf("Deduplication ratio:   %.2fx\n", dedup)
			g.printf("Compression ratio:     %.2fx\n", comp)
			g.printf("Repository pack files: %d, %s\n", st.Packs, ibytes(st.RepoSize))
			return nil
		},
	}
	f.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&mode, "mode", "restore-size", "what to count: `mode` restore-size, files-by-contents, raw-data or blobs-per-file")
	return cmd
}
