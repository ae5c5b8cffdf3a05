package schedule

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/config"
)

var calendarTests = []struct{ cron, want string }{
	{"@hourly", "*-*-* *:00:00"},
	{"@daily", "*-*-* 00:00:00"},
	{"@weekly", "Sun *-*-* 00:00:00"},
	{"0 * * * *", "*-*-* *:00:00"},
	{"*/15 * * * *", "*-*-* *:00,15,30,45:00"},
	{"30 3 * * 0", "Sun *-*-* 03:30:00"},
	{"0 9,17 * * 1-5", "Mon,Tue,Wed,Thu,Fri *-*-* 09,17:00:00"},
	{"5 4 1 */3 *", "*-1,4,7,10-1 04:05:00"},
	{"0 0 * JAN,jul SUN", "Sun *-1,7-* 00:00:00"},
	{"10-20/5 2 * * *", "*-*-* 02:10,15,20:00"},
}

func TestOnCalendar(t *testing.T) {
	for _, tt := range calendarTests {
		got, err := OnCalendar(tt.cron)
		if err != nil || got != tt.want {
			t.Errorf("OnCalendar(%q) = %q, %v; want %q", tt.cron, got, err, tt.want)
		}
	}
	for _, bad := range []string{"0 0 1 * 1", "61 * * * *", "* * *", "5-1 * * * *", "*/0 * * * *"} {
		if got, err := OnCalendar(bad); err == nil {
			t.Errorf("OnCalendar(%q) = %q, want an error", bad, got)
		}
	}
}

// TestOnCalendarAgreesWithSystemd asks systemd when each converted
// expression next elapses, and compares with the cron schedule.
func TestOnCalendarAgreesWithSystemd(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing: scripts/deps.sh installs it (make test does)")
		}
		t.Skip("systemd-analyze is missing: scripts/deps.sh installs it")
	}
	base := time.Date(2026, 2, 27, 13, 7, 0, 0, time.UTC)
	elapse := regexp.MustCompile(`(?m)(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC`)
	for _, tt := range calendarTests {
		sched, err := config.ParseSchedule(tt.cron)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("systemd-analyze", "calendar", "--iterations=6", "--base-time="+base.Format("2006-01-02 15:04:05")+" UTC", tt.want)
		cmd.Env = append(os.Environ(), "TZ=UTC")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("systemd-analyze calendar %q: %v\n%s", tt.want, err, out)
		}
		var got, want []string
		for _, m := range elapse.FindAllStringSubmatch(string(out), -1) {
			got = append(got, m[1])
		}
		for next := base; len(want) < 6; {
			next = sched.Next(next)
			want = append(want, next.Format("2006-01-02 15:04:05"))
		}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("%q as %q: systemd elapses at %v, cron at %v", tt.cron, tt.want, got, want)
		}
	}
}

func TestCrontabMerge(t *testing.T) {
	jobs := []Job{{Unit: "cairn-app", Source: "app", Schedule: "0 * * * *", Args: []string{"run", "app"}}}
	block := CrontabLines(jobs, "/usr/bin/cairn", "/etc/cairn 1/cairn.toml", "/var/log/cairn")
	if !strings.Contains(block, "0 * * * * /usr/bin/cairn --config '/etc/cairn 1/cairn.toml' run app >>/var/log/cairn/cairn-app.log 2>&1") {
		t.Errorf("crontab line:\n%s", block)
	}
	mine := "MAILTO=me\n5 5 * * * /bin/true\n"
	merged := MergeCrontab(mine, block)
	again := MergeCrontab(merged, block)
	if merged != again || !strings.HasPrefix(merged, mine) || CrontabBlock(merged) != block {
		t.Errorf("merge is not idempotent or lost lines:\n%s\n---\n%s", merged, again)
	}
	if got := MergeCrontab(merged, ""); got != mine {
		t.Errorf("removing the block left:\n%q, want %q", got, mine)
	}
}
