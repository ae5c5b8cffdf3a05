package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

// snapshotJSON is a snapshot as restic's --json shows it.
func snapshotJSON(s *snapshot.Snapshot) message.Snapshot { return engine.SnapshotMessage(s) }

func newSnapshotsCmd(g *globals) *cobra.Command {
	var f snapFilter
	var groupBy string
	var latest int
	var compact bool
	cmd := &cobra.Command{
		Use:   "snapshots [ID...]",
		Short: "List snapshots",
		Example: `  cairn snapshots
  cairn snapshots --host web1 --tag nightly --json
  cairn snapshots --group-by host,paths --latest 1`,
		RunE: func(cmd *cobra.Command, args []string) error {
			by, err := engine.ParseGroupBy(groupBy)
			if err != nil {
				return err
			}
			// Listing snapshots needs no index: a repository of a million
			// blobs would cost hundreds of MB to load it.
			r, err := g.openRepoIndex(cmd.Context(), true)
			if err != nil {
				return err
			}
			snaps, err := f.pick(cmd.Context(), r, args)
			if err != nil {
				return err
			}
			groups := engine.GroupSnapshots(snaps, by)
			for _, gr := range groups {
				if latest > 0 && len(gr.Snapshots) > latest {
					gr.Snapshots = gr.Snapshots[len(gr.Snapshots)-latest:]
				}
			}
			if g.json {
				if by == nil {
					out := []message.Snapshot{}
					for _, gr := range groups {
						for _, s := range gr.Snapshots {
							out = append(out, snapshotJSON(s))
						}
					}
					return g.printJSON(out)
				}
				out := []message.SnapshotGroup{}
				for _, gr := range groups {
					list := []message.Snapshot{}
					for _, s := range gr.Snapshots {
						list = append(list, snapshotJSON(s))
					}
					out = append(out, message.SnapshotGroup{GroupKey: gr.Key, Snapshots: list})
				}
				return g.printJSON(out)
			}
			total := 0
			for _, gr := range groups {
				if by != nil {
					g.printf("snapshots for (%s):\n", gr.Key.Label())
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				if compact {
					fmt.Fprintln(tw, "ID\tTime\tHost\tTags")
				} else {
					fmt.Fprintln(tw, "ID\tTime\tHost\tTags\tPaths\tSize")
				}
				for _, s := range gr.Snapshots {
					if compact {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ID.Short(), s.Time.Local().Format(time.DateTime), s.Host, strings.Join(s.Tags, ","))
						continue
					}
					size := ""
					if s.Summary != nil {
						size = ibytes(s.Summary.TotalBytesProcessed)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID.Short(), s.Time.Local().Format(time.DateTime), s.Host,
						strings.Join(s.Tags, ","), strings.Join(s.Paths, ", "), size)
				}
				_ = tw.Flush()
				total += len(gr.Snapshots)
				if by != nil {
					g.printf("\n")
				}
			}
			g.printf("%s\n", count(total, "snapshot"))
			return nil
		},
	}
	f.addFlags(cmd.Flags())
	cmd.Flags().StringVarP(&groupBy, "group-by", "g", "", "group by `fields`: host, paths, tags (comma-separated)")
	cmd.Flags().IntVar(&latest, "latest", 0, "show only the last `n` snapshots of each group")
	cmd.Flags().BoolVarP(&compact, "compact", "c", false, "one short line per snapshot: ID, time, host and tags")
	return cmd
}
