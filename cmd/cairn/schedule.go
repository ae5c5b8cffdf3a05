package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/routine"
	"github.com/cairn-backup/cairn/schedule"
	"github.com/spf13/cobra"
)

// scheduleFlags say where schedules are installed.
type scheduleFlags struct {
	user        bool
	cron        bool
	unitDir     string
	crontabFile string
	noEnable    bool
}

func (s *scheduleFlags) dir() (string, error) {
	if s.unitDir != "" {
		return s.unitDir, nil
	}
	if !s.user {
		return "/etc/systemd/system", nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".config", "systemd", "user"), nil
}

func (s *scheduleFlags) systemctl(g *globals, args ...string) error {
	if s.user {
		args = append([]string{"--user"}, args...)
	}
	out, err := exec.Command("systemctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	g.verbosef(1, "systemctl %s\n", strings.Join(args, " "))
	return nil
}

func newScheduleCmd(g *globals) *cobra.Command {
	var s scheduleFlags
	cmd := &cobra.Command{
		Use:   "schedule install|remove|status",
		Short: "Install each source's schedule as systemd timers or crontab entries",
		Long: `Install the schedules of the configuration (each source's "schedule", and
its drill's "drill.schedule") as systemd service and timer units, for the
system (/etc/systemd/system) or with --user for your user
(~/.config/systemd/user), or with --cron as entries in your crontab.

Timers are Persistent=true: a run missed while the machine was off happens
at the next boot. Units are checked with systemd-analyze verify where it is
available, then enabled with systemctl (unless --no-enable). Schedules are
cron expressions ("0 * * * *", "@daily"), converted to OnCalendar.

"cairn daemon" is the alternative that needs neither systemd nor cron.`,
		Example: `  cairn schedule install
  cairn schedule install --user
  cairn schedule install --cron
  cairn schedule status
  cairn schedule remove --user`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "install",
		Short:   "Write and enable the schedules",
		Example: "  cairn schedule install --user",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return scheduleInstall(g, &s) },
	}, &cobra.Command{
		Use:     "remove",
		Short:   "Disable and delete the schedules cairn installed",
		Example: "  cairn schedule remove --user",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return scheduleRemove(g, &s) },
	}, &cobra.Command{
		Use:     "status",
		Short:   "Show each scheduled job, whether it is installed, and its next run",
		Example: "  cairn schedule status --json",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return scheduleStatus(g, &s) },
	})
	// Each subcommand lists these under its own flags, not as global ones.
	for _, sub := range cmd.Commands() {
		f := sub.Flags()
		f.BoolVar(&s.user, "user", false, "systemd user units instead of system units")
		f.BoolVar(&s.cron, "cron", false, "use the crontab instead of systemd")
		f.StringVar(&s.unitDir, "unit-dir", "", "write systemd units to `dir` instead of the standard one")
		f.StringVar(&s.crontabFile, "crontab-file", "", "edit crontab `file` instead of running crontab(1)")
		if sub.Name() != "status" {
			f.BoolVar(&s.noEnable, "no-enable", false, "write the units but do not run systemctl")
		}
	}
	return cmd
}

func scheduleTarget(g *globals) (*config.Config, string, string, error) {
	c, err := g.loadConfig()
	if err != nil {
		return nil, "", "", err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, "", "", err
	}
	cfgPath, err := filepath.Abs(c.File)
	return c, exe, cfgPath, err
}

func scheduleInstall(g *globals, s *scheduleFlags) error {
	c, exe, cfgPath, err := scheduleTarget(g)
	if err != nil {
		return err
	}
	jobs := schedule.Jobs(c)
	if len(jobs) == 0 {
		return errors.New("no source has a schedule: add schedule = \"0 * * * *\" (or @daily) to a source")
	}
	if s.cron {
		if err := os.MkdirAll(c.StateDir, 0o700); err != nil {
			return err
		}
		block := schedule.CrontabLines(jobs, exe, cfgPath, c.StateDir)
		if err := schedule.EditCrontab(s.crontabFile, func(old string) string { return schedule.MergeCrontab(old, block) }); err != nil {
			return err
		}
		g.printf("installed %d crontab entries (logs in %s)\n", len(jobs), c.StateDir)
		return nil
	}
	dir, err := s.dir()
	if err != nil {
		return err
	}
	timers, err := schedule.WriteUnits(dir, jobs, exe, cfgPath)
	if err != nil {
		return err
	}
	if err := schedule.VerifyUnits(dir, timers); err != nil {
		return err
	}
	g.printf("wrote %d timers to %s: %s\n", len(timers), dir, strings.Join(timers, ", "))
	if s.noEnable {
		return nil
	}
	if err := s.systemctl(g, "daemon-reload"); err != nil {
		return fmt.Errorf("%v; the units are written: enable them with \"systemctl enable --now %s\"", err, strings.Join(timers, " "))
	}
	return s.systemctl(g, append([]string{"enable", "--now"}, timers...)...)
}

func scheduleRemove(g *globals, s *scheduleFlags) error {
	if s.cron {
		if err := schedule.EditCrontab(s.crontabFile, func(old string) string { return schedule.MergeCrontab(old, "") }); err != nil {
			return err
		}
		g.printf("removed cairn's crontab entries\n")
		return nil
	}
	dir, err := s.dir()
	if err != nil {
		return err
	}
	units, err := schedule.InstalledUnits(dir)
	if err != nil {
		return err
	}
	var timers []string
	for _, u := range units {
		if strings.HasSuffix(u, ".timer") {
			timers = append(timers, u)
		}
	}
	if len(timers) > 0 && !s.noEnable {
		if err := s.systemctl(g, append([]string{"disable", "--now"}, timers...)...); err != nil {
			fmt.Fprintf(g.stderr, "warning: %v\n", err)
		}
	}
	for _, u := range units {
		if err := os.Remove(filepath.Join(dir, u)); err != nil {
			return err
		}
	}
	g.printf("removed %d unit files from %s\n", len(units), dir)
	return nil
}

func scheduleStatus(g *globals, s *scheduleFlags) error {
	c, err := g.loadConfig()
	if err != nil {
		return err
	}
	installed := map[string]bool{}
	if s.cron {
		installed = schedule.InstalledInCrontab(schedule.Jobs(c), schedule.ReadCrontab(s.crontabFile))
	} else if dir, err := s.dir(); err == nil {
		installed = schedule.InstalledTimers(dir)
	}
	out := schedule.Status(c, installed, routine.StateStore{Dir: c.StateDir}, time.Now())
	if g.json {
		return g.printJSON(out)
	}
	for _, js := range out {
		state := "not installed"
		if js.Installed {
			state = "installed"
		}
		last := "never"
		if !js.LastRun.IsZero() {
			last = js.LastRun.Local().Format("2006-01-02 15:04") + " " + js.LastStatus
		}
		g.printf("%-24s %-14s %-14s %-13s next %s, last %s\n", js.Unit, js.What, js.Schedule, state,
			js.Next.Local().Format("2006-01-02 15:04"), last)
	}
	return nil
}
