package snapshot

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/duration"
)

var update = flag.Bool("update", false, "rewrite golden files")

// yearOfSnapshots makes snapshots over a year at irregular times: on most
// days one to three, at random hours, some days none; seeded.
func yearOfSnapshots(seed uint64) []*Snapshot {
	r := rand.New(rand.NewPCG(seed, 99))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []*Snapshot
	for day := 0; day < 365; day++ {
		if r.IntN(10) == 0 {
			continue
		}
		for n := 1 + r.IntN(3); n > 0; n-- {
			t := start.AddDate(0, 0, day).Add(time.Duration(r.IntN(24*60)) * time.Minute)
			s := &Snapshot{Time: t}
			s.ID[0], s.ID[1], s.ID[2] = byte(len(out)>>8), byte(len(out)), byte(r.IntN(256))
			if r.IntN(40) == 0 {
				s.Tags = []string{"release"}
			}
			out = append(out, s)
		}
	}
	return out
}

var goldenPolicies = map[string]Policy{
	"baseline-7d-4w-6m":          {Daily: 7, Weekly: 4, Monthly: 6},
	"last-5":                     {Last: 5},
	"hourly-24-daily-14":         {Hourly: 24, Daily: 14},
	"within-1m":                  {Within: duration.Span{Months: 1}},
	"within-daily-14d-weekly-8w": {WithinDaily: duration.Span{Days: 14}, WithinWeekly: duration.Span{Months: 2}},
	"yearly-unlimited-monthly-3": {Yearly: Unlimited, Monthly: 3},
	"tag-release-last-2":         {Tags: [][]string{{"release"}}, Last: 2},
	"within-monthly-1y":          {WithinMonthly: duration.Span{Years: 1}},
}

func formatDecisions(ds []Decision) string {
	var b strings.Builder
	kept := 0
	for _, d := range ds {
		mark := "remove"
		if d.Keep {
			mark = "keep  "
			kept++
		}
		fmt.Fprintf(&b, "%s %s %s %s\n", d.Snapshot.Time.Format("2006-01-02 15:04 Mon"), d.Snapshot.ID.Short(), mark, strings.Join(d.Reasons, ", "))
	}
	fmt.Fprintf(&b, "kept %d of %d\n", kept, len(ds))
	return b.String()
}

func TestPolicyGolden(t *testing.T) {
	snaps := yearOfSnapshots(1)
	for name, p := range goldenPolicies {
		t.Run(name, func(t *testing.T) {
			got := formatDecisions(p.Apply(snaps, time.UTC, time.Time{}))
			file := filepath.Join("testdata", "policy", name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Errorf("decisions differ from %s; run with -update after checking the change", file)
			}
		})
	}
}

// oracle computes, independently of Apply, the snapshots a bucket rule
// keeps: the newest snapshot of each of the n newest buckets (n < 0: all),
// among snapshots after from; and, when fewer than n buckets were found,
// the oldest snapshot of all if it is after from (restic 0.16's "oldest"
// rule).
func oracle(snaps []*Snapshot, n int, from time.Time, key func(time.Time) int) map[blob.ID]bool {
	newest := map[int]*Snapshot{}
	var oldest *Snapshot
	for _, s := range snaps {
		if oldest == nil || s.Time.Before(oldest.Time) {
			oldest = s
		}
		if !s.Time.After(from) {
			continue
		}
		k := key(s.Time)
		if cur, ok := newest[k]; !ok || s.Time.After(cur.Time) {
			newest[k] = s
		}
	}
	keys := make([]int, 0, len(newest))
	for k := range newest {
		keys = append(keys, k)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(keys)))
	if n >= 0 && len(keys) > n {
		keys = keys[:n]
	}
	out := map[blob.ID]bool{}
	for _, k := range keys {
		out[newest[k].ID] = true
	}
	if (n < 0 || len(keys) < n) && oldest.Time.After(from) {
		out[oldest.ID] = true
	}
	return out
}

func TestPolicyProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	keys := []func(time.Time) int{hourKey, dayKey, weekKey, monthKey, yearKey}
	for iter := 0; iter < 300; iter++ {
		snaps := yearOfSnapshots(uint64(iter))
		snaps = snaps[:r.IntN(len(snaps))+1]
		count := func() int { return []int{0, 0, 1, 3, 7, Unlimited}[r.IntN(6)] }
		p := Policy{Last: count(), Hourly: count(), Daily: count(), Weekly: count(), Monthly: count(), Yearly: count()}
		if r.IntN(3) == 0 {
			p.Within = duration.Span{Days: r.IntN(60)}
		}
		if r.IntN(3) == 0 {
			p.WithinDaily = duration.Span{Days: 1 + r.IntN(30)}
		}
		latest := snaps[0].Time
		for _, s := range snaps {
			if s.Time.After(latest) {
				latest = s.Time
			}
		}
		want := map[blob.ID]bool{}
		for i, n := range []int{p.Hourly, p.Daily, p.Weekly, p.Monthly, p.Yearly} {
			if n != 0 {
				for id := range oracle(snaps, n, time.Time{}, keys[i]) {
					want[id] = true
				}
			}
		}
		if p.Last != 0 {
			newest := append([]*Snapshot(nil), snaps...)
			sort.SliceStable(newest, func(i, j int) bool { return newest[i].Time.After(newest[j].Time) })
			// keep-last's buckets are single snapshots: the oldest is
			// among the n newest exactly when fewer than n exist.
			if p.Last > 0 && len(newest) > p.Last {
				newest = newest[:p.Last]
			}
			for _, s := range newest {
				want[s.ID] = true
			}
		}
		if !p.Within.IsZero() {
			for _, s := range snaps {
				if s.Time.After(p.Within.Before(latest)) {
					want[s.ID] = true
				}
			}
		}
		if !p.WithinDaily.IsZero() {
			for id := range oracle(snaps, Unlimited, p.WithinDaily.Before(latest), dayKey) {
				want[id] = true
			}
		}
		for _, d := range p.Apply(snaps, time.UTC, time.Time{}) {
			if d.Keep != want[d.Snapshot.ID] {
				t.Fatalf("iteration %d, policy %+v: snapshot %s at %v kept=%v (%v), the rules select it: %v",
					iter, p, d.Snapshot.ID.Short(), d.Snapshot.Time, d.Keep, d.Reasons, want[d.Snapshot.ID])
			}
			if d.Keep != (len(d.Reasons) > 0) {
				t.Fatalf("kept without reason or removed with one: %+v", d)
			}
		}
	}
}
