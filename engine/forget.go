package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
)

// GroupField is a snapshot field snapshots can be grouped by.
type GroupField string

// The fields of --group-by.
const (
	GroupHost  GroupField = "host"
	GroupPaths GroupField = "paths"
	GroupTags  GroupField = "tags"
)

// ParseGroupBy parses --group-by: a comma-separated list of host, paths
// and tags; "" means no grouping.
func ParseGroupBy(s string) ([]GroupField, error) {
	if s == "" {
		return nil, nil
	}
	var by []GroupField
	for _, p := range strings.Split(s, ",") {
		switch f := GroupField(strings.TrimSpace(p)); f {
		case GroupHost, GroupPaths, GroupTags:
			by = append(by, f)
		default:
			return nil, fmt.Errorf("--group-by %q: want a list of host, paths, tags", strings.TrimSpace(p))
		}
	}
	return by, nil
}

// GroupKey is what the snapshots of a group share. Only the fields it was
// grouped by are set, and only those appear in its JSON (restic's
// group_key: hostname, paths, tags).
type GroupKey struct {
	By       []GroupField
	Hostname string
	Paths    []string
	Tags     []string // sorted
}

// MarshalJSON encodes the grouped fields.
func (k GroupKey) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range k.By {
		if i > 0 {
			b.WriteByte(',')
		}
		var name string
		var v any
		switch f {
		case GroupHost:
			name, v = "hostname", k.Hostname
		case GroupPaths:
			name, v = "paths", nonNil(k.Paths)
		case GroupTags:
			name, v = "tags", nonNil(k.Tags)
		}
		enc, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%q:%s", name, enc)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Label is the key as the text output shows it: "host web1, paths [/srv]".
func (k GroupKey) Label() string {
	var parts []string
	for _, f := range k.By {
		switch f {
		case GroupHost:
			parts = append(parts, "host "+k.Hostname)
		case GroupPaths:
			parts = append(parts, "paths ["+strings.Join(k.Paths, ", ")+"]")
		case GroupTags:
			parts = append(parts, "tags ["+strings.Join(k.Tags, ", ")+"]")
		}
	}
	return strings.Join(parts, ", ")
}

// Group is the snapshots sharing one key, oldest first as given.
type Group struct {
	Key       GroupKey
	Snapshots []*snapshot.Snapshot
}

// GroupSnapshots groups snaps by the fields in by, groups in the order
// their first snapshot appears. With by empty, all snapshots form one
// group.
func GroupSnapshots(snaps []*snapshot.Snapshot, by []GroupField) []*Group {
	var groups []*Group
	index := map[string]*Group{}
	for _, s := range snaps {
		key := GroupKey{By: by}
		for _, f := range by {
			switch f {
			case GroupHost:
				key.Hostname = s.Host
			case GroupPaths:
				key.Paths = s.Paths
			case GroupTags:
				key.Tags = append([]string(nil), s.Tags...)
				sort.Strings(key.Tags)
			}
		}
		label := key.Label()
		gr := index[label]
		if gr == nil {
			gr = &Group{Key: key}
			index[label] = gr
			groups = append(groups, gr)
		}
		gr.Snapshots = append(gr.Snapshots, s)
	}
	return groups
}

// ErrWouldEmptyGroup is returned (wrapped) when a policy would remove every
// snapshot of a group: a mistyped policy must never delete a whole
// history. Naming the snapshots removes them all.
var ErrWouldEmptyGroup = errors.New("the policy would remove every snapshot of a group")

// ForgetGroup is a group and the policy's decisions for it, newest first.
type ForgetGroup struct {
	Key       GroupKey
	Decisions []snapshot.Decision
}

// ForgetPlan is what a policy keeps and removes.
type ForgetPlan struct {
	Groups []ForgetGroup
	Remove []*snapshot.Snapshot
}

// PlanForget applies a retention policy to each group of snaps (times in
// loc). It refuses, with ErrWouldEmptyGroup, a policy that keeps nothing of
// some group.
func PlanForget(snaps []*snapshot.Snapshot, p snapshot.Policy, by []GroupField, loc *time.Location) (*ForgetPlan, error) {
	plan := &ForgetPlan{}
	for _, gr := range GroupSnapshots(snaps, by) {
		ds := p.Apply(gr.Snapshots, loc)
		kept := 0
		for _, d := range ds {
			if d.Keep {
				kept++
			} else {
				plan.Remove = append(plan.Remove, d.Snapshot)
			}
		}
		if kept == 0 {
			return nil, fmt.Errorf("%w (%s); refusing (name the snapshots to remove them all)", ErrWouldEmptyGroup, gr.Key.Label())
		}
		plan.Groups = append(plan.Groups, ForgetGroup{Key: gr.Key, Decisions: ds})
	}
	return plan, nil
}

// RemoveSnapshots removes the snapshot files of snaps from r, which must
// hold an exclusive lock, and returns how many it removed; on an error or
// a cancel, the count is what was really removed.
func RemoveSnapshots(ctx context.Context, r *repo.Repository, snaps []*snapshot.Snapshot) (int, error) {
	for i, s := range snaps {
		if err := ctx.Err(); err != nil {
			return i, err
		}
		if err := r.RemoveSnapshot(ctx, s.ID); err != nil {
			return i, err
		}
	}
	return len(snaps), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
