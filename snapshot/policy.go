package snapshot

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Duration is a calendar span as restic's --keep-within takes it:
// years, months, days and hours, as in "1y2m3d4h".
type Duration struct {
	Years, Months, Days, Hours int
}

var durationRE = regexp.MustCompile(`^(\d+y)?(\d+m)?(\d+d)?(\d+h)?$`)

// ParseDuration parses "1y2m3d4h" (any part may be left out, not all).
func ParseDuration(s string) (Duration, error) {
	m := durationRE.FindStringSubmatch(s)
	if s == "" || m == nil {
		return Duration{}, fmt.Errorf("duration %q: want a combination of Ny, Nm, Nd and Nh, such as 1y6m or 7d", s)
	}
	var d Duration
	for _, part := range m[1:] {
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part[:len(part)-1])
		if err != nil {
			return Duration{}, fmt.Errorf("duration %q: %w", s, err)
		}
		switch part[len(part)-1] {
		case 'y':
			d.Years = n
		case 'm':
			d.Months = n
		case 'd':
			d.Days = n
		case 'h':
			d.Hours = n
		}
	}
	return d, nil
}

// Zero reports whether d is empty.
func (d Duration) Zero() bool { return d == Duration{} }

// String formats d as it is parsed.
func (d Duration) String() string {
	var b strings.Builder
	for _, p := range []struct {
		n int
		u string
	}{{d.Years, "y"}, {d.Months, "m"}, {d.Days, "d"}, {d.Hours, "h"}} {
		if p.n != 0 {
			fmt.Fprintf(&b, "%d%s", p.n, p.u)
		}
	}
	return b.String()
}

// before returns t minus d.
func (d Duration) before(t time.Time) time.Time {
	return t.AddDate(-d.Years, -d.Months, -d.Days).Add(-time.Duration(d.Hours) * time.Hour)
}

// Unlimited as a count keeps every bucket (restic's "unlimited").
const Unlimited = -1

// Policy is a set of keep rules with restic's semantics.
type Policy struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int // counts; Unlimited for all
	Within                                       Duration
	WithinHourly, WithinDaily, WithinWeekly      Duration
	WithinMonthly, WithinYearly                  Duration
	Tags                                         [][]string // keep snapshots holding all tags of any entry
}

// Empty reports whether the policy has no rule.
func (p Policy) Empty() bool {
	return p.Last == 0 && p.Hourly == 0 && p.Daily == 0 && p.Weekly == 0 && p.Monthly == 0 && p.Yearly == 0 &&
		p.Within.Zero() && p.WithinHourly.Zero() && p.WithinDaily.Zero() && p.WithinWeekly.Zero() &&
		p.WithinMonthly.Zero() && p.WithinYearly.Zero() && len(p.Tags) == 0
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
	within Duration
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
		if !p.Within.Zero() && !s.Time.Before(p.Within.before(latest)) {
			d.Reasons = append(d.Reasons, "within "+p.Within.String())
		}
		for i, r := range rules {
			if r.within.Zero() && r.count == 0 {
				continue
			}
			if !r.within.Zero() && s.Time.Before(r.within.before(latest)) {
				continue
			}
			k := r.key(t)
			if i == 0 {
				k = -3 - len(out) // every snapshot is its own bucket
			}
			if k == last[i] {
				continue
			}
			if r.within.Zero() {
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
