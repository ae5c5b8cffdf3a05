package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/duration"
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
// loc; now tells which snapshots are in the future, see
// snapshot.Policy.Apply). It refuses, with ErrWouldEmptyGroup, a policy
// that keeps nothing of some group.
func PlanForget(snaps []*snapshot.Snapshot, p snapshot.Policy, by []GroupField, loc *time.Location, now time.Time) (*ForgetPlan, error) {
	plan := &ForgetPlan{}
	for _, gr := range GroupSnapshots(snaps, by) {
		ds := p.Apply(gr.Snapshots, loc, now)
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

// ForgetOptions say which snapshots forget removes: the ones named by IDs,
// or the ones a Policy does not keep, group by group.
type ForgetOptions struct {
	IDs     []string // snapshot IDs or unique prefixes; exclusive with Policy
	Policy  snapshot.Policy
	GroupBy []GroupField
	DryRun  bool
	Loc     *time.Location // the calendar of the policy's days and weeks (time.Local when nil)
	// Now is the present: keep-within spans count back from the newest
	// snapshot not after it, as restic's do (time.Now when nil).
	Now func() time.Time
}

// Validate refuses options that name no snapshot or name them twice (IDs
// and a policy), so that a command can refuse before taking a lock.
func (o ForgetOptions) Validate() error {
	switch {
	case len(o.IDs) > 0 && !o.Policy.Empty():
		return errors.New("give either snapshot IDs or a policy, not both")
	case len(o.IDs) == 0 && o.Policy.Empty():
		return errors.New("no policy given: use --keep-* options, or name the snapshots to remove")
	}
	return nil
}

// ForgetResult is what forget decided and did.
type ForgetResult struct {
	Plan    *ForgetPlan          // the policy's decisions; nil when IDs were named
	Remove  []*snapshot.Snapshot // the snapshots to remove
	Removed int                  // how many were removed (0 in a dry run)
}

// Forget removes, from r (which must hold an exclusive lock), the snapshots
// among snaps that opts select. On an error part-way, the result counts
// what was really removed.
func Forget(ctx context.Context, r *repo.Repository, snaps []*snapshot.Snapshot, opts ForgetOptions) (*ForgetResult, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	res := &ForgetResult{}
	if len(opts.IDs) > 0 {
		for _, a := range opts.IDs {
			s, err := repo.FindSnapshot(snaps, a)
			if err != nil {
				return nil, err
			}
			res.Remove = append(res.Remove, s)
		}
	} else {
		loc := opts.Loc
		if loc == nil {
			loc = time.Local
		}
		now := time.Now
		if opts.Now != nil {
			now = opts.Now
		}
		plan, err := PlanForget(snaps, opts.Policy, opts.GroupBy, loc, now())
		if err != nil {
			return nil, err
		}
		res.Plan, res.Remove = plan, plan.Remove
	}
	if opts.DryRun || len(res.Remove) == 0 {
		return res, nil
	}
	if err := r.CanDelete(ctx); err != nil {
		return nil, fmt.Errorf("forget will not start: %w", err)
	}
	n, err := RemoveSnapshots(ctx, r, res.Remove)
	res.Removed = n
	if err != nil {
		return res, fmt.Errorf("removed %d of %d snapshots: %w", n, len(res.Remove), err)
	}
	return res, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// PolicyRequest is a retention policy as a user writes it: forget's
// --keep-* values, "" for a rule not given. Counts are numbers or
// "unlimited"; durations use package duration's retention grammar.
type PolicyRequest struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly                                 string
	Within, WithinHourly, WithinDaily, WithinWeekly, WithinMonthly, WithinYearly string
	// Tags keeps snapshots with any of these comma-separated tag sets.
	Tags []string
}

// ParsePolicy parses a retention policy. Warnings name deprecated forms
// that were accepted (restic's "6m" for six months).
func ParsePolicy(req PolicyRequest) (p snapshot.Policy, warnings []string, err error) {
	counts := []struct {
		name string
		s    string
		dst  *int
	}{{"last", req.Last, &p.Last}, {"hourly", req.Hourly, &p.Hourly}, {"daily", req.Daily, &p.Daily},
		{"weekly", req.Weekly, &p.Weekly}, {"monthly", req.Monthly, &p.Monthly}, {"yearly", req.Yearly, &p.Yearly}}
	for _, c := range counts {
		n, err := parseCount(c.name, c.s)
		if err != nil {
			return p, warnings, err
		}
		*c.dst = n
	}
	durs := []struct {
		name string
		s    string
		dst  *duration.Span
	}{{"within", req.Within, &p.Within}, {"within-hourly", req.WithinHourly, &p.WithinHourly},
		{"within-daily", req.WithinDaily, &p.WithinDaily}, {"within-weekly", req.WithinWeekly, &p.WithinWeekly},
		{"within-monthly", req.WithinMonthly, &p.WithinMonthly}, {"within-yearly", req.WithinYearly, &p.WithinYearly}}
	for _, d := range durs {
		if d.s == "" {
			continue
		}
		v, deprecated, err := duration.ParseRetention(d.s)
		if err != nil {
			return p, warnings, fmt.Errorf("--keep-%s: %w", d.name, err)
		}
		if deprecated != "" {
			warnings = append(warnings, "--keep-"+d.name+": "+deprecated)
		}
		*d.dst = v
	}
	for _, t := range req.Tags {
		p.Tags = append(p.Tags, SplitTags([]string{t}))
	}
	return p, warnings, nil
}

func parseCount(flag, s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if s == "unlimited" {
		return snapshot.Unlimited, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strconv.Itoa(n) != s {
		return 0, fmt.Errorf("--keep-%s %q: want a number or \"unlimited\"", flag, s)
	}
	return n, nil
}
