package engine

import (
	"encoding/json"
	"errors"
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
	plan, err := PlanForget(snaps(), snapshot.Policy{Last: 1}, by, time.UTC)
	if err != nil || len(plan.Remove) != 3 || len(plan.Groups) != 2 {
		t.Fatalf("keep-last 1 per host: %+v, %v", plan, err)
	}
	tagged := snaps()
	tagged[1].Tags = []string{"keep"}
	_, err = PlanForget(tagged, snapshot.Policy{Tags: [][]string{{"keep"}}}, by, time.UTC)
	if !errors.Is(err, ErrWouldEmptyGroup) {
		t.Errorf("a policy keeping nothing of host web: %v", err)
	}
}
