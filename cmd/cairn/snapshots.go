package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

// snapshotJSON is a snapshot as restic's --json shows it.
func snapshotJSON(s *snapshot.Snapshot) map[string]any {
	out := map[string]any{"id": s.ID.String(), "short_id": s.ID.Short(), "time": s.Time, "tree": s.Tree.String(),
		"paths": nonNil(s.Paths), "hostname": s.Host, "username": s.User, "uid": s.UID, "gid": s.GID,
		"tags": nonNil(s.Tags), "program_version": s.Program}
	if !s.Parent.IsZero() {
		out["parent"] = s.Parent.String()
	}
	if !s.Original.IsZero() {
		out["original"] = s.Original.String()
	}
	if sum := s.Summary; sum != nil {
		out["summary"] = map[string]any{"backup_start": sum.BackupStart, "backup_end": sum.BackupEnd,
			"files_new": sum.FilesNew, "files_changed": sum.FilesChanged, "files_unmodified": sum.FilesUnmodified,
			"dirs_new": sum.DirsNew, "dirs_changed": sum.DirsChanged, "dirs_unmodified": sum.DirsUnmodified,
			"data_blobs": sum.DataBlobs, "tree_blobs": sum.TreeBlobs, "data_added": sum.DataAdded,
			"total_files_processed": sum.TotalFilesProcessed, "total_bytes_processed": sum.TotalBytesProcessed}
	}
	return out
}

// groupKey returns the key of s for --group-by (a subset of host,paths,tags).
func groupKey(s *snapshot.Snapshot, by []string) (string, map[string]any) {
	var parts []string
	key := map[string]any{}
	for _, b := range by {
		switch b {
		case "host":
			parts = append(parts, "host "+s.Host)
			key["hostname"] = s.Host
		case "paths":
			parts = append(parts, "paths ["+strings.Join(s.Paths, ", ")+"]")
			key["paths"] = nonNil(s.Paths)
		case "tags":
			tags := append([]string(nil), s.Tags...)
			sort.Strings(tags)
			parts = append(parts, "tags ["+strings.Join(tags, ", ")+"]")
			key["tags"] = nonNil(tags)
		}
	}
	return strings.Join(parts, ", "), key
}

// snapGroup is the snapshots sharing one --group-by key.
type snapGroup struct {
	label string
	key   map[string]any
	snaps []*snapshot.Snapshot
}

// groupSnapshots groups snaps by the fields in by, groups in order of
// first appearance.
func groupSnapshots(snaps []*snapshot.Snapshot, by []string) []*snapGroup {
	var groups []*snapGroup
	index := map[string]*snapGroup{}
	for _, s := range snaps {
		label, key := groupKey(s, by)
		gr := index[label]
		if gr == nil {
			gr = &snapGroup{label: label, key: key}
			index[label] = gr
			groups = append(groups, gr)
		}
		gr.snaps = append(gr.snaps, s)
	}
	return groups
}

func parseGroupBy(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var by []string
	for _, p := range strings.Split(s, ",") {
		switch p = strings.TrimSpace(p); p {
		case "host", "paths", "tags":
			by = append(by, p)
		default:
			return nil, fmt.Errorf("--group-by %q: want a list of host, paths, tags", p)
		}
	}
	return by, nil
}

func newSnapshotsCmd(g *globals) *cobra.Command {
	var f snapFilter
	var groupBy string
	var latest int
	cmd := &cobra.Command{
		Use:   "snapshots [ID...]",
		Short: "List snapshots",
		Example: `  cairn snapshots
  cairn snapshots --host web1 --tag nightly --json
  cairn snapshots --group-by host,paths --latest 1`,
		RunE: func(cmd *cobra.Command, args []string) error {
			by, err := parseGroupBy(groupBy)
			if err != nil {
				return err
			}
			r, err := g.openRepo(cmd.Context())
			if err != nil {
				return err
			}
			snaps, err := f.pick(cmd.Context(), r, args)
			if err != nil {
				return err
			}
			groups := groupSnapshots(snaps, by)
			for _, gr := range groups {
				if latest > 0 && len(gr.snaps) > latest {
					gr.snaps = gr.snaps[len(gr.snaps)-latest:]
				}
			}
			if g.json {
				if by == nil {
					out := []map[string]any{}
					for _, gr := range groups {
						for _, s := range gr.snaps {
							out = append(out, snapshotJSON(s))
						}
					}
					return g.printJSON(out)
				}
				out := []map[string]any{}
				for _, gr := range groups {
					list := []map[string]any{}
					for _, s := range gr.snaps {
						list = append(list, snapshotJSON(s))
					}
					out = append(out, map[string]any{"group_key": gr.key, "snapshots": list})
				}
				return g.printJSON(out)
			}
			total := 0
			for _, gr := range groups {
				if by != nil {
					g.printf("snapshots for (%s):\n", gr.label)
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTime\tHost\tTags\tPaths\tSize")
				for _, s := range gr.snaps {
					size := ""
					if s.Summary != nil {
						size = ibytes(s.Summary.TotalBytesProcessed)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID.Short(), s.Time.Local().Format(time.DateTime), s.Host,
						strings.Join(s.Tags, ","), strings.Join(s.Paths, ", "), size)
				}
				_ = tw.Flush()
				total += len(gr.snaps)
				if by != nil {
					g.printf("\n")
				}
			}
			g.printf("%d snapshots\n", total)
			return nil
		},
	}
	f.addFlags(cmd.Flags())
	cmd.Flags().StringVarP(&groupBy, "group-by", "g", "", "group by `fields`: host, paths, tags (comma-separated)")
	cmd.Flags().IntVar(&latest, "latest", 0, "show only the last `n` snapshots of each group")
	return cmd
}
