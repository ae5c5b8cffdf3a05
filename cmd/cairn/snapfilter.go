package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/pflag"
)

// snapFilter selects snapshots by host, tags and paths, as restic's
// --host, --tag and --path do.
type snapFilter struct {
	hosts []string
	tags  []string // each entry "a,b" requires both a and b; entries are alternatives
	paths []string
}

func (f *snapFilter) addFlags(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&f.hosts, "host", "H", nil, "only snapshots from `host` (repeatable)")
	fs.StringArrayVar(&f.tags, "tag", nil, "only snapshots with `tag[,tag...]` (repeatable: any of them)")
	fs.StringArrayVar(&f.paths, "path", nil, "only snapshots that include `path` (repeatable: all of them)")
}

func (f *snapFilter) match(s *snapshot.Snapshot) bool {
	if len(f.hosts) > 0 && !slices.Contains(f.hosts, s.Host) {
		return false
	}
	for _, p := range f.paths {
		abs, err := filepath.Abs(p)
		if err != nil || !slices.Contains(s.Paths, filepath.ToSlash(abs)) {
			return false
		}
	}
	if len(f.tags) == 0 {
		return true
	}
	for _, alt := range f.tags {
		all := true
		for _, t := range strings.Split(alt, ",") {
			if t != "" && !s.HasTag(t) {
				all = false
			}
		}
		if all {
			return true
		}
	}
	return false
}

// snapshots loads the snapshots that pass the filter, oldest first.
func (f *snapFilter) snapshots(ctx context.Context, r *repo.Repository) ([]*snapshot.Snapshot, error) {
	all, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	var out []*snapshot.Snapshot
	for _, s := range all {
		if f.match(s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// find resolves one snapshot reference ("latest" or an ID prefix) among
// the filtered snapshots.
func (f *snapFilter) find(ctx context.Context, r *repo.Repository, ref string) (*snapshot.Snapshot, error) {
	snaps, err := f.snapshots(ctx, r)
	if err != nil {
		return nil, err
	}
	return repo.FindSnapshot(snaps, ref)
}

// splitTags turns repeated "a,b" flag values into a list of tags.
func splitTags(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" && !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// pick returns the snapshots named by refs among the filtered ones, or all
// filtered snapshots when refs is empty.
func (f *snapFilter) pick(ctx context.Context, r *repo.Repository, refs []string) ([]*snapshot.Snapshot, error) {
	snaps, err := f.snapshots(ctx, r)
	if err != nil || len(refs) == 0 {
		return snaps, err
	}
	picked := make([]*snapshot.Snapshot, 0, len(refs))
	for _, ref := range refs {
		s, err := repo.FindSnapshot(snaps, ref)
		if err != nil {
			return nil, err
		}
		picked = append(picked, s)
	}
	return picked, nil
}
