package main

import (
	"errors"
	"slices"

	"github.com/cairn-backup/cairn/message"
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
			if len(add)+len(remove)+len(set) == 0 {
				return errors.New("nothing to do: give --add, --remove or --set")
			}
			if len(set) > 0 && len(add)+len(remove) > 0 {
				return errors.New("--set cannot be combined with --add or --remove")
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
			changed := 0
			for _, s := range snaps {
				tags := newTags(s.Tags, splitTags(add), splitTags(remove), splitTags(set), len(set) > 0)
				if slices.Equal(tags, s.Tags) {
					continue
				}
				old := s.ID
				ns := *s
				ns.Tags = tags
				if ns.Original.IsZero() {
					ns.Original = old
				}
				if err := r.SaveSnapshot(ctx, &ns); err != nil {
					return err
				}
				if err := r.RemoveSnapshot(ctx, old); err != nil {
					return err
				}
				changed++
				g.verbosef(1, "snapshot %s is now %s\n", old.Short(), ns.ID.Short())
			}
			return g.report(message.Done{MessageType: message.TypeSummary, ChangedSnapshots: &changed}, "modified %d snapshots\n", changed)
		},
	}
	f.addFlags(cmd.Flags())
	fl := cmd.Flags()
	fl.StringArrayVar(&add, "add", nil, "add `tag[,tag...]`")
	fl.StringArrayVar(&remove, "remove", nil, "remove `tag[,tag...]`")
	fl.StringArrayVar(&set, "set", nil, "replace all tags with `tag[,tag...]`")
	return cmd
}

func newTags(cur, add, remove, set []string, replace bool) []string {
	if replace {
		return set
	}
	var out []string
	for _, t := range cur {
		if !slices.Contains(remove, t) {
			out = append(out, t)
		}
	}
	for _, t := range add {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}
