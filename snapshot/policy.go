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

// Apply decides, for one group of snapshots, which are kept: restic's
// algorithm. Snapshots are considered newest first; keep-last keeps the n
// newest; each bucket rule (hourly, daily, weekly, monthly, yearly) keeps
// the newest snapshot of each of the n most recent periods that have one;
// keep-within keeps everything within the span before the newest snapshot;
// keep-within-<period> keeps the newest snapshot of each period within the
// span; keep-tag keeps snapshots carrying the tags. Times are taken in
// loc. The result is ordered newest first.
func (p Policy) Apply(snaps []*Snapshot, loc *time.Location) []Decision {
	sorted := append([]*Snapshot(nil), snaps...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time.After(sorted[j].Time) })
	if len(sorted) == 0 {
		return nil
	}
	latest := sorted[0].Time
	rules := []*bucketRule{
		{name: "last snapshot", count: p.Last, key: func(time.Time) int { return -1 }},
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
		last[i] = -2 // no bucket seen yet
	}
	out := make([]Decision, 0, len(sorted))
	for _, s := range sorted {
		d := Decision{Snapshot: s}
		t := s.Time.In(loc)
		for _, tags := range p.Tags {
			if hasAll(s, tags) {
				d.Reasons = append(d.Reasons, fmt.Sprintf("has tags [%s]", strings.Join(tags, ", ")))
				break
			}
		}
		if !p.Within.IsZero() && !s.Time.Before(p.Within.Before(latest)) {
			d.Reasons = append(d.Reasons, "within "+p.Within.String())
		}
		for i, r := range rules {
			if r.within.IsZero() && r.count == 0 {
				continue
			}
			if !r.within.IsZero() && s.Time.Before(r.within.Before(latest)) {
				continue
			}
			k := r.key(t)
			if i == 0 {
				k = -3 - len(out) // every snapshot is its own bucket
			}
			if k == last[i] {
				continue
			}
			if r.within.IsZero() {
				if r.count == 0 {
					continue
				}
				if r.count > 0 {
					r.count--
				}
				d.Reasons = append(d.Reasons, r.name)
			} else {
				d.Reasons = append(d.Reasons, r.name+" "+r.within.String())
			}
			last[i] = k
		}
		d.Keep = len(d.Reasons) > 0
		out = append(out, d)
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
