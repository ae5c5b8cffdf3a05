package schedule

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/routine"
)

// VerifyUnits runs systemd-analyze verify on the units of the timers in
// dir, where systemd-analyze is installed.
func VerifyUnits(dir string, timers []string) error {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		return nil
	}
	var files []string
	for _, t := range timers {
		files = append(files, filepath.Join(dir, t), filepath.Join(dir, strings.TrimSuffix(t, ".timer")+".service"))
	}
	out, err := exec.Command("systemd-analyze", append([]string{"verify"}, files...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemd-analyze verify rejected the units: %s", strings.TrimSpace(string(out)))
	}
	return nil
}

// EditCrontab rewrites a crontab with edit: the file named, or, when file
// is empty, the user's crontab through crontab(1).
func EditCrontab(file string, edit func(string) string) error {
	if file != "" {
		old, err := os.ReadFile(file)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return os.WriteFile(file, []byte(edit(string(old))), 0o600)
	}
	old, err := exec.Command("crontab", "-l").Output()
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return fmt.Errorf("crontab: %w (install cron, or use systemd timers or cairn daemon)", err)
		}
		old = nil // "no crontab for user"
	}
	cmd := exec.Command("crontab", "-")
	cmd.Stdin = strings.NewReader(edit(string(old)))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("crontab: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// ReadCrontab returns a crontab: the file named, or the user's; "" when
// there is none.
func ReadCrontab(file string) string {
	if file != "" {
		b, _ := os.ReadFile(file)
		return string(b)
	}
	b, _ := exec.Command("crontab", "-l").Output()
	return string(b)
}

// InstalledInCrontab returns the units of jobs whose lines are in cairn's
// block of crontab.
func InstalledInCrontab(jobs []Job, crontab string) map[string]bool {
	installed := map[string]bool{}
	for _, line := range strings.Split(CrontabBlock(crontab), "\n") {
		for _, j := range jobs {
			if strings.Contains(line, " "+strings.Join(j.Args, " ")+" ") {
				installed[j.Unit] = true
			}
		}
	}
	return installed
}

// InstalledTimers returns the units whose timers are written in dir.
func InstalledTimers(dir string) map[string]bool {
	installed := map[string]bool{}
	units, _ := InstalledUnits(dir)
	for _, u := range units {
		if strings.HasSuffix(u, ".timer") {
			installed[strings.TrimSuffix(u, ".timer")] = true
		}
	}
	return installed
}

// JobStatus is one line of "schedule status".
type JobStatus struct {
	Unit       string    `json:"unit"`
	Source     string    `json:"source"`
	What       string    `json:"job"`
	Schedule   string    `json:"schedule"`
	OnCalendar string    `json:"on_calendar,omitempty"`
	Installed  bool      `json:"installed"`
	Next       time.Time `json:"next"`
	LastRun    time.Time `json:"last_run,omitzero"`
	LastStatus string    `json:"last_status,omitempty"`
}

// Status says, for every scheduled job of c, whether it is installed, when
// it runs next after now, and how its last run went.
func Status(c *config.Config, installed map[string]bool, store routine.StateStore, now time.Time) []JobStatus {
	var out []JobStatus
	for _, j := range Jobs(c) {
		sched, _ := config.ParseSchedule(j.Schedule)
		cal, _ := OnCalendar(j.Schedule)
		js := JobStatus{Unit: j.Unit, Source: j.Source, What: j.What, Schedule: j.Schedule, OnCalendar: cal,
			Installed: installed[j.Unit], Next: sched.Next(now)}
		if st, err := store.Load(j.Source); err == nil {
			js.LastRun, js.LastStatus = st.LastRun, st.LastStatus
			if j.What != "backup" {
				js.LastRun, js.LastStatus = st.LastDrill, st.LastDrillStatus
			}
		}
		out = append(out, js)
	}
	return out
}
