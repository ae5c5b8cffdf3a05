package schedule

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cairn-backup/cairn/config"
)

// Place says where schedules are installed: systemd units (system-wide,
// the user's with User, or UnitDir), or crontab entries with Cron.
type Place struct {
	User        bool   // the user's systemd instance (systemctl --user)
	Cron        bool   // crontab entries instead of systemd units
	UnitDir     string // write units here instead of the system's or user's folder
	CrontabFile string // edit this file instead of running crontab(1)
	NoEnable    bool   // write units without running systemctl
	// Log, when set, is told each systemctl command run.
	Log func(format string, args ...any)
}

// Dir is the folder of the units.
func (p Place) Dir() (string, error) {
	if p.UnitDir != "" {
		return p.UnitDir, nil
	}
	if !p.User {
		return "/etc/systemd/system", nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".config", "systemd", "user"), nil
}

func (p Place) systemctl(args ...string) error {
	if p.User {
		args = append([]string{"--user"}, args...)
	}
	out, err := exec.Command("systemctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	if p.Log != nil {
		p.Log("systemctl %s\n", strings.Join(args, " "))
	}
	return nil
}

// Installed is what Install wrote.
type Installed struct {
	Jobs   int      // crontab entries written (Cron)
	Dir    string   // the units' folder (systemd)
	Timers []string // the timers written (systemd)
}

// Install installs the schedules of c, run as exe with the configuration
// file cfgPath (both absolute): a crontab block, or systemd service and
// timer units that are verified and then enabled. When enabling fails,
// the units are written and the error says how to enable them.
func Install(c *config.Config, p Place, exe, cfgPath string) (*Installed, error) {
	jobs := Jobs(c)
	if len(jobs) == 0 {
		return nil, errors.New("no source has a schedule: add schedule = \"0 * * * *\" (or @daily) to a source")
	}
	if p.Cron {
		if err := os.MkdirAll(c.StateDir, 0o700); err != nil {
			return nil, err
		}
		block := CrontabLines(jobs, exe, cfgPath, c.StateDir)
		if err := EditCrontab(p.CrontabFile, func(old string) string { return MergeCrontab(old, block) }); err != nil {
			return nil, err
		}
		return &Installed{Jobs: len(jobs)}, nil
	}
	dir, err := p.Dir()
	if err != nil {
		return nil, err
	}
	timers, err := WriteUnits(dir, jobs, exe, cfgPath)
	if err != nil {
		return nil, err
	}
	if err := VerifyUnits(dir, timers); err != nil {
		return nil, err
	}
	inst := &Installed{Dir: dir, Timers: timers}
	if p.NoEnable {
		return inst, nil
	}
	if err := p.systemctl("daemon-reload"); err != nil {
		return inst, fmt.Errorf("%v; the units are written: enable them with \"systemctl enable --now %s\"", err, strings.Join(timers, " "))
	}
	return inst, p.systemctl(append([]string{"enable", "--now"}, timers...)...)
}

// Remove removes cairn's crontab block, or disables its timers and
// removes its unit files, and returns the units removed (nil for
// crontab). warn is told when disabling fails; the files go anyway.
func Remove(p Place, warn func(error)) (dir string, units []string, err error) {
	if p.Cron {
		return "", nil, EditCrontab(p.CrontabFile, func(old string) string { return MergeCrontab(old, "") })
	}
	if dir, err = p.Dir(); err != nil {
		return "", nil, err
	}
	if units, err = InstalledUnits(dir); err != nil {
		return dir, nil, err
	}
	var timers []string
	for _, u := range units {
		if strings.HasSuffix(u, ".timer") {
			timers = append(timers, u)
		}
	}
	if len(timers) > 0 && !p.NoEnable {
		if err := p.systemctl(append([]string{"disable", "--now"}, timers...)...); err != nil && warn != nil {
			warn(err)
		}
	}
	for i, u := range units {
		if err := os.Remove(filepath.Join(dir, u)); err != nil {
			return dir, units[:i], err
		}
	}
	return dir, units, nil
}

// InstalledJobs says which of c's jobs are installed at p.
func InstalledJobs(c *config.Config, p Place) map[string]bool {
	if p.Cron {
		return InstalledInCrontab(Jobs(c), ReadCrontab(p.CrontabFile))
	}
	if dir, err := p.Dir(); err == nil {
		return InstalledTimers(dir)
	}
	return map[string]bool{}
}
