package main

import (
	"fmt"

	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

func newTagCmd(g *globals) *cobra.Command {
	var f snapFilter
	var add, remove, set []string
	cmd := &cobra.Command{
		Use:   "tag [--add TAG] [--remove TAG] [--set TAG] [SNAPSHOT...]",
		Short: "Add, remove or replace the tags of snapshots",
		Long: `Change the tags of the given snapshots, or of every snapshot passing the
--host/--tag/--path filters when none is given. Each changed snapshot is
written anew (recording the one it replaces) and the old file is removed
afterwards, so an interruption never loses a snapshot.`,
		Example: `  cairn tag --add keep 3f2a9c1b
  cairn tag --host web1 --remove nightly --add weekly
  cairn tag --set release-1.2 latest`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			change := engine.TagChange{Add: splitTags(add), Remove: splitTags(remove), Set: splitTags(set)}
			if err := change.Validate(); err != nil {
				return err
			}
			r, unlock, err := g.openLocked(ctx, true)
			if err != nil {
				return err
			}
			defer unlock()
			snaps, err := f.pick(ctx, r, args)
			if err != nil {
				return err
			}
			changed, err := engine.Retag(ctx, r, snaps, change, func(old, ns *snapshot.Snapshot) {
				g.verbosef(1, "snapshot %s is now %s\n", old.ID.Short(), ns.ID.Short())
			})
			if err != nil {
				return fmt.Errorf("modified %d snapshots: %w", changed, err)
			}
			return g.report(message.Done{MessageType: message.TypeSummary, MessageVersion: message.SchemaVersion, ChangedSnapshots: &changed}, "modified %s\n", count(changed, "snapshot"))
		},
	}
	f.addFlags(cmd.Flags())
	fl := cmd.Flags()
	fl.StringArrayVar(&add, "add", nil, "add `tag[,tag...]`")
	fl.StringArrayVar(&remove, "remove", nil, "remove `tag[,tag...]`")
	fl.StringArrayVar(&set, "set", nil, "replace all tags with `tag[,tag...]`")
	return cmd
}
