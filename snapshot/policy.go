package snapshot

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/duration"
)

// Unlimited as a count keeps every bucket (restic's "unlimited").
const Unlimited = -1

// Policy is a set of keep rules with restic's semantics.
type Policy struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int // counts; Unlimited for all
	Within                                       duration.Span
	WithinHourly, WithinDaily, WithinWeekly      duration.Span
	WithinMonthly, WithinYearly                  duration.Span
	Tags                                         [][]string // keep snapshots holding all tags of any entry
}

// Empty reports whether the policy has no rule.
func (p Policy) Empty() bool {
	return p.Last == 0 && p.Hourly == 0 && p.Daily == 0 && p.Weekly == 0 && p.Monthly == 0 && p.Yearly == 0 &&
		p.Within.IsZero() && p.WithinHourly.IsZero() && p.WithinDaily.IsZero() && p.WithinWeekly.IsZero() &&
		p.WithinMonthly.IsZero() && p.WithinYearly.IsZero() && len(p.Tags) == 0
}

// Decision says whether a snapshot is kept and why.
type Decision struct {
	Snapshot *Snapshot
	Keep     bool
	Reasons  []string // e.g. "daily snapshot", "within 7d"
}

type bucketRule struct {
	name   string
	count  int
	within duration.Span
	key    func(time.Time) int
}

func hourKey(t time.Time) int {
	return t.Year()*1000000 + int(t.Month())*10000 + t.Day()*100 + t.Hour()
}
func dayKey(t time.Time) int   { return t.Year()*10000 + int(t.Month())*100 + t.Day() }
func monthKey(t time.Time) int { return t.Year()*100 + int(t.Month()) }
func yearKey(t time.Time) int  { return t.Year() }
func weekKey(t time.Time) int {
	y, w := t.ISOWeek()
	return y*100 + w
}

// Apply decides, for one group of snapshots, which are kept: restic
// 0.19's algorithm, decision for decision. Snapshots are considered
// newest first; keep-last keeps the n newest; each bucket rule (hourly,
// daily, weekly, monthly, yearly) keeps the newest snapshot of each of
// the n most recent periods that have one, and, when the rule still has
// periods left at the oldest snapshot, that snapshot too ("oldest yearly
// snapshot"), so that an unfilled rule keeps the longest history;
// keep-within keeps everything strictly within the span before the newest
// snapshot that is not in the future (at now; a zero now takes the newest
// snapshot as it is); keep-within-<period> keeps the newest snapshot of
// each period within the span, and the oldest one within it; keep-tag
// keeps snapshots carrying all tags of any of its lists. Times are taken
// in loc. The result is ordered newest first.
func (p Policy) Apply(snaps []*Snapshot, loc *time.Location, now time.Time) []Decision {
	sorted := append([]*Snapshot(nil), snaps...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time.After(sorted[j].Time) })
	if len(sorted) == 0 {
		return nil
	}
	latest := latestBefore(sorted, now)
	rules := []*bucketRule{
		{name: "last snapshot", count: p.Last},
		{name: "hourly snapshot", count: p.Hourly, key: hourKey},
		{name: "daily snapshot", count: p.Daily, key: dayKey},
		{name: "weekly snapshot", count: p.Weekly, key: weekKey},
		{name: "monthly snapshot", count: p.Monthly, key: monthKey},
		{name: "yearly snapshot", count: p.Yearly, key: yearKey},
		{name: "hourly within", within: p.WithinHourly, key: hourKey},
		{name: "daily within", within: p.WithinDaily, key: dayKey},
		{name: "weekly within", within: p.WithinWeekly, key: weekKey},
		{name: "monthly within", within: p.WithinMonthly, key: monthKey},
		{name: "yearly within", within: p.WithinYearly, key: yearKey},
	}
	last := make([]int, len(rules))
	for i := range last {
		last[i] = -1 // no bucket seen yet
	}
	out := make([]Decision, 0, len(sorted))
	for nr, s := range sorted {
		d := Decision{Snapshot: s, Reasons: p.tagReasons(s)}
		if !p.Within.IsZero() && s.Time.After(p.Within.Before(latest)) {
			d.Reasons = append(d.Reasons, "within "+p.Within.String())
		}
		oldest := nr == len(sorted)-1
		for i, r := range rules {
			if why, ok := r.keeps(s.Time, s.Time.In(loc), nr, &last[i], oldest, latest); ok {
				d.Reasons = append(d.Reasons, why)
			}
		}
		d.Keep = len(d.Reasons) > 0
		out = append(out, d)
	}
	return out
}

// keeps applies one rule to the snapshot at position nr (newest first),
// taken at t (local is t in the policy's calendar), and says why it keeps
// it. last is the rule's newest period seen.
func (r *bucketRule) keeps(t, local time.Time, nr int, last *int, oldest bool, latest time.Time) (string, bool) {
	if r.within.IsZero() && r.count == 0 {
		return "", false // no rule, or its count is spent
	}
	if !r.within.IsZero() && !t.After(r.within.Before(latest)) {
		return "", false
	}
	k := nr // keep-last: every snapshot is a period of its own
	if r.key != nil {
		k = r.key(local)
	}
	name := r.name
	if k == *last {
		if !oldest {
			return "", false
		}
		name = "oldest " + name
	}
	*last = k
	if !r.within.IsZero() {
		return name + " " + r.within.String(), true
	}
	if r.count > 0 {
		r.count--
	}
	return name, true
}

// latestBefore is the newest snapshot time that is not after now (the
// zero time when every snapshot is in the future, as restic has it), or
// the newest of all when now is zero. sorted is newest first.
func latestBefore(sorted []*Snapshot, now time.Time) time.Time {
	if now.IsZero() {
		return sorted[0].Time
	}
	for _, s := range sorted {
		if s.Time.Before(now) {
			return s.Time
		}
	}
	return time.Time{}
}

// tagReasons names each tag list of the policy that s carries.
func (p Policy) tagReasons(s *Snapshot) []string {
	var out []string
	for _, tags := range p.Tags {
		if hasAll(s, tags) {
			out = append(out, fmt.Sprintf("has tags [%s]", strings.Join(tags, ", ")))
		}
	}
	return out
}

func hasAll(s *Snapshot, tags []string) bool {
	for _, t := range tags {
		if !s.HasTag(t) {
			return false
		}
	}
	return len(tags) > 0
}
