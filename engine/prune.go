package engine

import (
	"fmt"

	"github.com/cairn-backup/cairn/repo"
	"github.com/dustin/go-humanize"
)

// PruneRequest is what a user asks of prune, as the command line gives it.
type PruneRequest struct {
	// MaxUnused is --max-unused: P%, 0 or "unlimited" (see
	// repo.ParseMaxUnused).
	MaxUnused string
	// MaxRepackSize bounds the packs repacked in one run ("10G"; "" for
	// no bound).
	MaxRepackSize string
	DryRun        bool
	// RepackSmall also repacks partly filled packs (repo.PruneOptions).
	RepackSmall bool
	// RepackUncompressed compresses blobs stored uncompressed
	// (repo.PruneOptions).
	RepackUncompressed bool
}

// ParsePrune turns a request into repo.PruneOptions.
func ParsePrune(req PruneRequest) (repo.PruneOptions, error) {
	opts := repo.PruneOptions{DryRun: req.DryRun, RepackSmall: req.RepackSmall, RepackUncompressed: req.RepackUncompressed}
	var err error
	if opts.MaxUnused, err = repo.ParseMaxUnused(req.MaxUnused); err != nil {
		return opts, err
	}
	if req.MaxRepackSize != "" {
		if opts.MaxRepackBytes, err = humanize.ParseBytes(req.MaxRepackSize); err != nil {
			return opts, fmt.Errorf("--max-repack-size %q: want a size such as 10G", req.MaxRepackSize)
		}
	}
	return opts, nil
}
