package main

import (
	"fmt"
	"sort"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/spf13/cobra"
)

// listTypes maps list's arguments to the files they name.
var listTypes = map[string]backend.FileType{
	"packs": backend.Pack, "index": backend.Index, "snapshots": backend.Snapshot,
	"keys": backend.Key, "locks": backend.Lock, "records": backend.Record,
}

func newListCmd(g *globals) *cobra.Command {
	var allLocks bool
	cmd := &cobra.Command{
		Use:   "list packs|index|snapshots|keys|locks|records|blobs",
		Short: "List the IDs of the repository's files, or its blobs",
		Long: `Print the IDs of the repository's files of one type, one per line, as
restic's list does; "blobs" prints every indexed blob as "TYPE ID". No lock
is taken, so this works while other commands run.

"locks" lists the locks in force (stale ones too: they still block until
"cairn unlock" removes them); --all lists every lock file, also the ended
ones and the release markers that an object-locked bucket keeps until
their retention lapses ("cairn cat lock ID" tells which is which).`,
		Example: `  cairn list snapshots
  cairn list locks
  cairn list locks --all
  cairn list blobs | grep ^tree`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, ok := listTypes[args[0]]
			if !ok && args[0] != "blobs" {
				return fmt.Errorf("cannot list %q: want packs, index, snapshots, keys, locks, records or blobs", args[0])
			}
			r, err := g.openRepo(ctx)
			if err != nil {
				return err
			}
			var lines []string
			if args[0] == "blobs" {
				for _, bt := range []blob.Type{blob.Data, blob.Tree} {
					r.Index().Each(bt, func(id blob.ID) {
						lines = append(lines, bt.String()+" "+id.String())
					})
				}
			} else if t == backend.Lock && !allLocks {
				locks, _, err := r.Locks(ctx)
				if err != nil {
					return err
				}
				for _, l := range locks {
					lines = append(lines, l.Name)
				}
				sort.Strings(lines)
			} else {
				names, err := backend.Names(ctx, r.Backend(), t)
				if err != nil {
					return err
				}
				sort.Strings(names)
				lines = names
			}
			if g.json {
				return g.printJSON(nonNil(lines))
			}
			for _, l := range lines {
				fmt.Fprintln(g.stdout, l)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&allLocks, "all", false, "locks: list every lock file, also ended ones and release markers")
	return cmd
}
