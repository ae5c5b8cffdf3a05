package engine

import (
	"context"
	"errors"
	"slices"

	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
)

// TagChange says how tag changes the tags of snapshots: Set replaces them
// all; otherwise Remove, then Add.
type TagChange struct {
	Add, Remove, Set []string
}

// Validate refuses a change that does nothing or mixes Set with the others.
func (c TagChange) Validate() error {
	switch {
	case len(c.Add)+len(c.Remove)+len(c.Set) == 0:
		return errors.New("nothing to do: give --add, --remove or --set")
	case len(c.Set) > 0 && len(c.Add)+len(c.Remove) > 0:
		return errors.New("--set cannot be combined with --add or --remove")
	}
	return nil
}

// Apply returns the tags cur becomes.
func (c TagChange) Apply(cur []string) []string {
	if len(c.Set) > 0 {
		return c.Set
	}
	var out []string
	for _, t := range cur {
		if !slices.Contains(c.Remove, t) {
			out = append(out, t)
		}
	}
	for _, t := range c.Add {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// Retag rewrites each snapshot whose tags change: it writes the new
// snapshot (recording the one it replaces as original) before it removes
// the old one, so an interruption never loses a snapshot (design §12.5).
// onChange is told each old and new snapshot. It returns how many it
// rewrote; r must hold an exclusive lock.
func Retag(ctx context.Context, r *repo.Repository, snaps []*snapshot.Snapshot, c TagChange, onChange func(old, new *snapshot.Snapshot)) (int, error) {
	changed := 0
	for _, s := range snaps {
		tags := c.Apply(s.Tags)
		if slices.Equal(tags, s.Tags) {
			continue
		}
		ns := *s
		ns.Tags = tags
		if ns.Original.IsZero() {
			ns.Original = s.ID
		}
		if err := r.SaveSnapshot(ctx, &ns); err != nil {
			return changed, err
		}
		if err := r.RemoveSnapshot(ctx, s.ID); err != nil {
			return changed, err
		}
		changed++
		if onChange != nil {
			onChange(s, &ns)
		}
	}
	return changed, nil
}
