package snapshot

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/duration"
)

// resticGolden holds restic 0.19.1's forget decisions for a set of
// snapshot times and random policies, as TestPolicyMatchesRestic read them
// from restic itself.
const resticGolden = "testdata/policy/restic-0.19.1.json"

// resticVersion is the restic whose decisions cairn's must equal; it is
// the one scripts/peers.sh builds.
const resticVersion = "0.19.1"

// resticCases are the snapshots and policies compared with restic.
type resticCases struct {
	Now   time.Time    `json:"now"` // the present for both (two snapshots lie after it)
	Snaps []resticSnap `json:"snapshots"`
	Cases []resticCase `json:"cases"`
}

type resticSnap struct {
	Time time.Time `json:"time"`
	Tags []string  `json:"tags,omitempty"`
}

type resticCase struct {
	Policy Policy `json:"policy"`
	// Kept maps the time of each kept snapshot (RFC 3339) to restic's
	// reasons.
	Kept map[string][]string `json:"kept"`
}

// makeResticCases draws 70 snapshot times over four years, in clusters
// (several in one hour, one day, one week) and mostly on whole hours, so
// that keep-within spans end exactly on some; two lie in the future. It
// draws 30 policies of one to four rules, and adds the example.
func makeResticCases() *resticCases {
	r := rand.New(rand.NewPCG(25, 7))
	now := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	seen := map[time.Time]bool{}
	rc := &resticCases{Now: now}
	add := func(t time.Time) {
		if seen[t] {
			return
		}
		seen[t] = true
		s := resticSnap{Time: t}
		if r.IntN(8) == 0 {
			s.Tags = []string{"keep"}
		}
		rc.Snaps = append(rc.Snaps, s)
	}
	start := time.Date(2022, 11, 1, 0, 0, 0, 0, time.UTC)
	for len(rc.Snaps) < 68 {
		base := start.Add(time.Duration(r.IntN(4*365*24)) * time.Hour)
		for range 1 + r.IntN(4) {
			t := base.Add(time.Duration(r.IntN(3)) * 24 * time.Hour).Add(time.Duration(r.IntN(5)) * time.Hour)
			if r.IntN(3) == 0 {
				t = t.Add(time.Duration(r.IntN(60)) * time.Minute)
			}
			if t.Before(now) && len(rc.Snaps) < 68 {
				add(t)
			}
		}
	}
	add(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	add(time.Date(2099, 6, 1, 12, 0, 0, 0, time.UTC))
	count := func() int { return []int{1, 2, 3, 5, 10, Unlimited}[r.IntN(6)] }
	span := func() duration.Span {
		s := duration.Span{Days: r.IntN(40), Clock: time.Duration(r.IntN(24)) * time.Hour}
		if r.IntN(3) == 0 {
			s.Months = 1 + r.IntN(8)
		}
		if r.IntN(5) == 0 {
			s.Years = 1 + r.IntN(2)
		}
		if s.IsZero() {
			s.Days = 1
		}
		return s
	}
	rc.Cases = append(rc.Cases, resticCase{Policy: Policy{Hourly: 3, Last: 1, Yearly: 10}})
	for len(rc.Cases) < 31 {
		var p Policy
		for range 1 + r.IntN(4) {
			switch r.IntN(13) {
			case 0:
				p.Last = count()
			case 1:
				p.Hourly = count()
			case 2:
				p.Daily = count()
			case 3:
				p.Weekly = count()
			case 4:
				p.Monthly = count()
			case 5:
				p.Yearly = count()
			case 6:
				p.Within = span()
			case 7:
				p.WithinHourly = span()
			case 8:
				p.WithinDaily = span()
			case 9:
				p.WithinWeekly = span()
			case 10:
				p.WithinMonthly = span()
			case 11:
				p.WithinYearly = span()
			case 12:
				p.Tags = [][]string{{"keep"}}
			}
		}
		rc.Cases = append(rc.Cases, resticCase{Policy: p})
	}
	return rc
}

func (rc *resticCases) snapshots() []*Snapshot {
	out := make([]*Snapshot, len(rc.Snaps))
	for i, s := range rc.Snaps {
		out[i] = &Snapshot{ID: blob.ID{byte(i), byte(i >> 8), 0xaa}, Time: s.Time, Host: "h", Tags: s.Tags}
	}
	return out
}

// resticSpan writes a span as restic's --keep-within takes it (m is
// months there, and it has no minutes).
func resticSpan(s duration.Span) string {
	var b strings.Builder
	for _, p := range []struct {
		n    int
		unit string
	}{{s.Years, "y"}, {s.Months, "m"}, {s.Days, "d"}, {int(s.Clock / time.Hour), "h"}} {
		if p.n != 0 {
			fmt.Fprintf(&b, "%d%s", p.n, p.unit)
		}
	}
	return b.String()
}

// resticArgs are p's rules as restic forget's flags.
func resticArgs(p Policy) []string {
	var args []string
	for _, c := range []struct {
		flag string
		n    int
	}{{"last", p.Last}, {"hourly", p.Hourly}, {"daily", p.Daily}, {"weekly", p.Weekly}, {"monthly", p.Monthly}, {"yearly", p.Yearly}} {
		switch {
		case c.n == Unlimited:
			args = append(args, "--keep-"+c.flag, "unlimited")
		case c.n != 0:
			args = append(args, "--keep-"+c.flag, strconv.Itoa(c.n))
		}
	}
	for _, c := range []struct {
		flag string
		s    duration.Span
	}{{"within", p.Within}, {"within-hourly", p.WithinHourly}, {"within-daily", p.WithinDaily}, {"within-weekly", p.WithinWeekly},
		{"within-monthly", p.WithinMonthly}, {"within-yearly", p.WithinYearly}} {
		if !c.s.IsZero() {
			args = append(args, "--keep-"+c.flag, resticSpan(c.s))
		}
	}
	for _, tags := range p.Tags {
		args = append(args, "--keep-tag", strings.Join(tags, ","))
	}
	return args
}

// cairnKept is what Apply keeps of the case's snapshots, with its reasons
// written as restic writes them (spans in restic's grammar).
func cairnKept(rc *resticCases, p Policy) map[string][]string {
	spans := map[string]string{}
	for _, s := range []duration.Span{p.Within, p.WithinHourly, p.WithinDaily, p.WithinWeekly, p.WithinMonthly, p.WithinYearly} {
		if !s.IsZero() {
			spans[s.String()] = resticSpan(s)
		}
	}
	out := map[string][]string{}
	for _, d := range p.Apply(rc.snapshots(), time.UTC, rc.Now) {
		if !d.Keep {
			continue
		}
		var reasons []string
		for _, why := range d.Reasons {
			if i := strings.LastIndexByte(why, ' '); i >= 0 && spans[why[i+1:]] != "" {
				why = why[:i+1] + spans[why[i+1:]]
			}
			reasons = append(reasons, why)
		}
		out[d.Snapshot.Time.UTC().Format(time.RFC3339)] = reasons
	}
	return out
}

// TestPolicyMatchesResticGolden compares cairn's decisions, reasons
// included, with restic 0.19.1's as recorded in the golden file.
func TestPolicyMatchesResticGolden(t *testing.T) {
	b, err := os.ReadFile(resticGolden)
	if err != nil {
		t.Fatalf("%v (TestPolicyMatchesRestic -update writes it)", err)
	}
	var rc resticCases
	if err := json.Unmarshal(b, &rc); err != nil {
		t.Fatal(err)
	}
	if len(rc.Cases) < 30 || len(rc.Snaps) < 70 {
		t.Fatalf("the golden file holds %d cases over %d snapshots", len(rc.Cases), len(rc.Snaps))
	}
	for i, c := range rc.Cases {
		compareKept(t, i, c.Policy, c.Kept, cairnKept(&rc, c.Policy))
	}
}

func compareKept(t *testing.T, i int, p Policy, restic, cairn map[string][]string) {
	t.Helper()
	var times []string
	for k := range restic {
		times = append(times, k)
	}
	for k := range cairn {
		if _, ok := restic[k]; !ok {
			times = append(times, k)
		}
	}
	slices.Sort(times)
	for _, k := range times {
		r, inR := restic[k]
		c, inC := cairn[k]
		switch {
		case inR != inC:
			t.Errorf("case %d (%s): snapshot at %s: restic keeps it %v %q, cairn %v %q", i, strings.Join(resticArgs(p), " "), k, inR, r, inC, c)
		case !slices.Equal(r, c):
			t.Errorf("case %d (%s): snapshot at %s: restic's reasons %q, cairn's %q", i, strings.Join(resticArgs(p), " "), k, r, c)
		}
	}
}

// resticBinary finds restic 0.19.1: $CAIRN_RESTIC, or the one
// scripts/peers.sh builds into .tools/peers.
func resticBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("CAIRN_RESTIC")
	if bin == "" {
		bin, _ = filepath.Abs("../.tools/peers/restic")
	}
	out, err := exec.Command(bin, "version").Output()
	if err == nil && strings.HasPrefix(string(out), "restic "+resticVersion+" ") {
		return bin
	}
	why := fmt.Sprintf("restic %s is needed at %s (scripts/peers.sh install restic builds it): %v %s", resticVersion, bin, err, out)
	if os.Getenv("CI") != "" {
		t.Fatal(why)
	}
	t.Skip(why)
	return ""
}

// TestPolicyMatchesRestic makes the golden file's snapshots in a real
// restic 0.19.1 repository, runs restic forget --dry-run --json with each
// policy, and compares restic's decisions with the golden file's (with
// -update, rewrites it) and with cairn's.
func TestPolicyMatchesRestic(t *testing.T) {
	bin := resticBinary(t)
	rc := makeResticCases()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "TZ=UTC", "RESTIC_PASSWORD=policy-test", "RESTIC_REPOSITORY="+filepath.Join(dir, "repo"),
		"RESTIC_CACHE_DIR="+filepath.Join(dir, "cache"), "RESTIC_PROGRESS_FPS=0.0001")
	restic := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("restic %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return out
	}
	restic("init")
	for _, s := range rc.Snaps {
		args := []string{"backup", "--quiet", "--host", "h", "--time", s.Time.Format(time.DateTime)}
		for _, tag := range s.Tags {
			args = append(args, "--tag", tag)
		}
		restic(append(args, src)...)
	}
	for i := range rc.Cases {
		c := &rc.Cases[i]
		out := restic(append([]string{"forget", "--dry-run", "--json"}, resticArgs(c.Policy)...)...)
		var groups []struct {
			Reasons []struct {
				Snapshot struct {
					Time time.Time `json:"time"`
				} `json:"snapshot"`
				Matches []string `json:"matches"`
			} `json:"reasons"`
		}
		if err := json.Unmarshal(out, &groups); err != nil || len(groups) != 1 {
			t.Fatalf("restic forget %v: %d groups, %v\n%s", resticArgs(c.Policy), len(groups), err, out)
		}
		c.Kept = map[string][]string{}
		for _, r := range groups[0].Reasons {
			c.Kept[r.Snapshot.Time.UTC().Format(time.RFC3339)] = r.Matches
		}
		compareKept(t, i, c.Policy, c.Kept, cairnKept(rc, c.Policy))
	}
	if *update {
		b, err := json.MarshalIndent(rc, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(resticGolden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(resticGolden)
	if err != nil {
		t.Fatal(err)
	}
	var golden resticCases
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	for i := range rc.Cases {
		if i >= len(golden.Cases) {
			t.Fatalf("the golden file holds %d cases, restic was asked %d", len(golden.Cases), len(rc.Cases))
		}
		compareKept(t, i, rc.Cases[i].Policy, rc.Cases[i].Kept, golden.Cases[i].Kept)
	}
}
