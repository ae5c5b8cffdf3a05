package engine

import (
	"context"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
)

// Selection chooses snapshots by host, tags and paths, as restic's --host,
// --tag and --path do. The zero Selection chooses every snapshot.
type Selection struct {
	Hosts []string // any of them
	// Tags are alternatives; an entry "a,b" requires both a and b.
	Tags  []string
	Paths []string // all of them; relative paths are made absolute
}

// Match reports whether s is selected.
func (f Selection) Match(s *snapshot.Snapshot) bool {
	if len(f.Hosts) > 0 && !slices.Contains(f.Hosts, s.Host) {
		return false
	}
	for _, p := range f.Paths {
		abs, err := filepath.Abs(p)
		if err != nil || !slices.Contains(s.Paths, filepath.ToSlash(abs)) {
			return false
		}
	}
	if len(f.Tags) == 0 {
		return true
	}
	for _, alt := range f.Tags {
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

// Snapshots loads the selected snapshots of r, oldest first.
func (f Selection) Snapshots(ctx context.Context, r *repo.Repository) ([]*snapshot.Snapshot, error) {
	all, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	var out []*snapshot.Snapshot
	for _, s := range all {
		if f.Match(s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Find resolves one reference, "latest" or an ID prefix, among the
// selected snapshots.
func (f Selection) Find(ctx context.Context, r *repo.Repository, ref string) (*snapshot.Snapshot, error) {
	snaps, err := f.Snapshots(ctx, r)
	if err != nil {
		return nil, err
	}
	return repo.FindSnapshot(snaps, ref)
}

// Pick returns the snapshots named by refs among the selected ones, or all
// selected snapshots when refs is empty.
func (f Selection) Pick(ctx context.Context, r *repo.Repository, refs []string) ([]*snapshot.Snapshot, error) {
	snaps, err := f.Snapshots(ctx, r)
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

// SplitTags turns repeated "a,b" values into a list of distinct tags.
func SplitTags(vals []string) []string {
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
