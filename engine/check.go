package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairn-backup/cairn/repo"
)

// CheckRequest is what a user asks of check, as the command line gives it.
type CheckRequest struct {
	ReadData bool
	// Subset reads only n/m, P% or a size of the packs ("" for all).
	Subset string
	// Rolling reads the P% of packs verified longest ago, and records it.
	Rolling string
	// Snapshots limits the check to what these snapshots (ID prefixes or
	// "latest") use.
	Snapshots []string
}

// ParseCheck turns a request into repo.CheckOptions, refusing
// combinations that make no sense. Snapshot references are resolved by
// ResolveCheckSnapshots once the repository is open.
func ParseCheck(req CheckRequest) (repo.CheckOptions, error) {
	opts := repo.CheckOptions{ReadData: req.ReadData, Progress: &repo.CheckProgress{}}
	if req.Subset != "" {
		s, err := repo.ParseSubset(req.Subset)
		if err != nil {
			return opts, err
		}
		opts.Subset, opts.ReadData = &s, true
	}
	if req.Rolling != "" {
		p, err := repo.ParseSubset(req.Rolling)
		if err != nil || p.Percent == 0 {
			return opts, fmt.Errorf("--rolling %q: want a percentage such as 10%%", req.Rolling)
		}
		if opts.Subset != nil {
			return opts, errors.New("--rolling and --read-data-subset exclude each other")
		}
		opts.Rolling = p.Percent
	}
	return opts, nil
}

// ResolveCheckSnapshots sets opts.Snapshots to the snapshots refs name.
func ResolveCheckSnapshots(ctx context.Context, r *repo.Repository, refs []string, opts *repo.CheckOptions) error {
	if len(refs) == 0 {
		return nil
	}
	all, err := r.Snapshots(ctx)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		s, err := repo.FindSnapshot(all, ref)
		if err != nil {
			return err
		}
		opts.Snapshots = append(opts.Snapshots, s)
	}
	return nil
}
