package engine

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/snapshot"
)

func snaps() []*snapshot.Snapshot {
	at := func(d int) time.Time { return time.Date(2026, 1, d, 12, 0, 0, 0, time.UTC) }
	var out []*snapshot.Snapshot
	for i, h := range []string{"web", "db", "web", "db", "web"} {
		s := &snapshot.Snapshot{Time: at(i + 1), Host: h, Paths: []string{"/" + h}, Tags: []string{"b", "a"}}
		s.ID[0] = byte(i + 1)
		out = append(out, s)
	}
	return out
}

func TestGroupSnapshots(t *testing.T) {
	by, err := ParseGroupBy("host, tags")
	if err != nil {
		t.Fatal(err)
	}
	groups := GroupSnapshots(snaps(), by)
	if len(groups) != 2 || groups[0].Key.Hostname != "web" || len(groups[0].Snapshots) != 3 || len(groups[1].Snapshots) != 2 {
		t.Fatalf("groups %+v", groups)
	}
	if got := groups[0].Key.Label(); got != "host web, tags [a, b]" {
		t.Errorf("label %q", got)
	}
	b, _ := json.Marshal(groups[0].Key)
	if string(b) != `{"hostname":"web","tags":["a","b"]}` {
		t.Errorf("group key JSON %s", b)
	}
	if all := GroupSnapshots(snaps(), nil); len(all) != 1 || len(all[0].Snapshots) != 5 {
		t.Errorf("no grouping: %+v", all)
	}
	if b, _ := json.Marshal(GroupKey{}); string(b) != "{}" {
		t.Errorf("empty key JSON %s", b)
	}
	if _, err := ParseGroupBy("host,size"); err == nil {
		t.Error("ParseGroupBy accepted size")
	}
}

// The retention safety rule: a policy that keeps nothing of some group is
// refused, whatever it keeps elsewhere.
func TestPlanForgetNeverEmptiesAGroup(t *testing.T) {
	by, _ := ParseGroupBy("host")
	plan, err := PlanForget(snaps(), snapshot.Policy{Last: 1}, by, time.UTC, time.Time{})
	if err != nil || len(plan.Remove) != 3 || len(plan.Groups) != 2 {
		t.Fatalf("keep-last 1 per host: %+v, %v", plan, err)
	}
	tagged := snaps()
	tagged[1].Tags = []string{"keep"}
	_, err = PlanForget(tagged, snapshot.Policy{Tags: [][]string{{"keep"}}}, by, time.UTC, time.Time{})
	if !errors.Is(err, ErrWouldEmptyGroup) {
		t.Errorf("a policy keeping nothing of host web: %v", err)
	}
}

func TestDiff(t *testing.T) {
	ctx := context.Background()
	r, _ := newRepo(t)
	src := t.TempDir()
	write := func(n, data string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, n)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, n), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("same", "s")
	write("changed", "1")
	write("gone/x", "x")
	paths, _ := snapshot.CleanPaths([]string{src})
	a, err := NewBackup(r, BackupOptions{Paths: paths}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	write("changed", "22")
	write("new", "n")
	// Only file data counts as bytes: not a link's target, not a folder.
	if err := os.Symlink(strings.Repeat("t", 3000), filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(src, "gone")); err != nil {
		t.Fatal(err)
	}
	b, err := NewBackup(r, BackupOptions{Paths: paths}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	st, err := Diff(ctx, r, a.Snapshot.Tree, b.Snapshot.Tree, DiffOptions{OnChange: func(c Change) error {
		got = append(got, c.Modifier+" "+strings.TrimPrefix(c.Path, src))
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "M /changed|- /gone|- /gone/x|+ /link|+ /new"; strings.Join(got, "|") != want {
		t.Errorf("changes %q, want %q", strings.Join(got, "|"), want)
	}
	if st.Added != 2 || st.Removed != 2 || st.Modified != 1 || st.AddedBytes != 3 || st.RemovedBytes != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestSelection(t *testing.T) {
	ss := snaps()
	ss[0].Tags = []string{"nightly", "db"}
	ss[2].Tags = []string{"nightly"}
	for _, tc := range []struct {
		sel  Selection
		want int
	}{
		{Selection{}, 5},
		{Selection{Hosts: []string{"db"}}, 2},
		{Selection{Tags: []string{"nightly,db"}}, 1},      // both tags
		{Selection{Tags: []string{"nightly,db", "a"}}, 4}, // either alternative
		{Selection{Paths: []string{"/web"}}, 3},           // the path must be backed up
		{Selection{Hosts: []string{"web"}, Paths: []string{"/db"}}, 0},
	} {
		n := 0
		for _, s := range ss {
			if tc.sel.Match(s) {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("%+v selects %d snapshots, want %d", tc.sel, n, tc.want)
		}
	}
	if got := SplitTags([]string{"a, b", "b,c", ""}); strings.Join(got, " ") != "a b c" {
		t.Errorf("SplitTags = %q", got)
	}
}

func TestParseCheck(t *testing.T) {
	o, err := ParseCheck(CheckRequest{Subset: "1/7"})
	if err != nil || !o.ReadData || o.Subset == nil || o.Subset.M != 7 {
		t.Errorf("subset: %+v, %v", o, err)
	}
	if o, err := ParseCheck(CheckRequest{Rolling: "10%"}); err != nil || o.Rolling != 10 {
		t.Errorf("rolling: %+v, %v", o, err)
	}
	for _, bad := range []CheckRequest{{Rolling: "1/7"}, {Rolling: "5%", Subset: "10%"}, {Subset: "nonsense"}} {
		if _, err := ParseCheck(bad); err == nil {
			t.Errorf("ParseCheck(%+v) accepted", bad)
		}
	}
}

func TestParsePrune(t *testing.T) {
	o, err := ParsePrune(PruneRequest{MaxUnused: "0", MaxRepackSize: "1GiB", DryRun: true})
	if err != nil || o.MaxUnused != 0 || o.MaxRepackBytes != 1<<30 || !o.DryRun {
		t.Errorf("ParsePrune = %+v, %v", o, err)
	}
	if _, err := ParsePrune(PruneRequest{MaxUnused: "5%", MaxRepackSize: "lots"}); err == nil {
		t.Error("a size of lots was accepted")
	}
}

func TestTagChange(t *testing.T) {
	c := TagChange{Add: []string{"x", "a"}, Remove: []string{"b"}}
	if got := strings.Join(c.Apply([]string{"a", "b", "c"}), ","); got != "a,c,x" {
		t.Errorf("add x, remove b: %q", got)
	}
	if got := (TagChange{Set: []string{"only"}}).Apply([]string{"a"}); len(got) != 1 || got[0] != "only" {
		t.Errorf("set: %q", got)
	}
	for _, bad := range []TagChange{{}, {Set: []string{"s"}, Add: []string{"a"}}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	p, warn, err := ParsePolicy(PolicyRequest{Last: "3", Monthly: "unlimited", Within: "6m", WithinDaily: "7d", Tags: []string{"a,b", "c"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Last != 3 || p.Monthly != snapshot.Unlimited || len(p.Tags) != 2 || len(p.Tags[0]) != 2 {
		t.Errorf("policy %+v", p)
	}
	if len(warn) != 1 || !strings.Contains(warn[0], "--keep-within") {
		t.Errorf("warnings %q: want one for restic's 6m", warn)
	}
	for _, bad := range []PolicyRequest{{Last: "-1"}, {Daily: "1.5"}, {Weekly: "03"}, {Within: "forever"}} {
		if _, _, err := ParsePolicy(bad); err == nil {
			t.Errorf("ParsePolicy(%+v) accepted", bad)
		}
	}
}

func TestForgetOptionsValidate(t *testing.T) {
	if err := (ForgetOptions{}).Validate(); err == nil {
		t.Error("no IDs and no policy accepted")
	}
	if err := (ForgetOptions{IDs: []string{"ab"}, Policy: snapshot.Policy{Last: 1}}).Validate(); err == nil {
		t.Error("IDs and a policy accepted")
	}
	if err := (ForgetOptions{IDs: []string{"ab"}}).Validate(); err != nil {
		t.Error(err)
	}
}
