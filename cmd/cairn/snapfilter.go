package main

import (
	"context"

	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/pflag"
)

// snapFilter holds restic's --host, --tag and --path flags; the selection
// itself is engine.Selection.
type snapFilter struct{ sel engine.Selection }

func (f *snapFilter) addFlags(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&f.sel.Hosts, "host", "H", nil, "only snapshots from `host` (repeatable)")
	fs.StringArrayVar(&f.sel.Tags, "tag", nil, "only snapshots with `tag[,tag...]` (repeatable: any of them)")
	fs.StringArrayVar(&f.sel.Paths, "path", nil, "only snapshots that include `path` (repeatable: all of them)")
}

func (f *snapFilter) snapshots(ctx context.Context, r *repo.Repository) ([]*snapshot.Snapshot, error) {
	return f.sel.Snapshots(ctx, r)
}

func (f *snapFilter) find(ctx context.Context, r *repo.Repository, ref string) (*snapshot.Snapshot, error) {
	return f.sel.Find(ctx, r, ref)
}

func (f *snapFilter) pick(ctx context.Context, r *repo.Repository, refs []string) ([]*snapshot.Snapshot, error) {
	return f.sel.Pick(ctx, r, refs)
}

func splitTags(vals []string) []string { return engine.SplitTags(vals) }
