package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/routine"
	"github.com/cairn-backup/cairn/schedule"
	"github.com/spf13/cobra"
)

func newScheduleCmd(g *globals) *cobra.Command {
	var s schedule.Place
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
		RunE:    func(cmd *cobra.Command, args []string) error { return scheduleInstall(g, placeLog(g, s)) },
	}, &cobra.Command{
		Use:     "remove",
		Short:   "Disable and delete the schedules cairn installed",
		Example: "  cairn schedule remove --user",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return scheduleRemove(g, placeLog(g, s)) },
	}, &cobra.Command{
		Use:     "status",
		Short:   "Show each scheduled job, whether it is installed, and its next run",
		Example: "  cairn schedule status --json",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return scheduleStatus(g, s) },
	})
	// Each subcommand lists these under its own flags, not as global ones.
	for _, sub := range cmd.Commands() {
		f := sub.Flags()
		f.BoolVar(&s.User, "user", false, "systemd user units instead of system units")
		f.BoolVar(&s.Cron, "cron", false, "use the crontab instead of systemd")
		f.StringVar(&s.UnitDir, "unit-dir", "", "write systemd units to `dir` instead of the standard one")
		f.StringVar(&s.CrontabFile, "crontab-file", "", "edit crontab `file` instead of running crontab(1)")
		if sub.Name() != "status" {
			f.BoolVar(&s.NoEnable, "no-enable", false, "write the units but do not run systemctl")
		}
	}
	return cmd
}

// placeLog makes systemctl commands show with -v.
func placeLog(g *globals, p schedule.Place) schedule.Place {
	p.Log = func(f string, a ...any) { g.verbosef(1, f, a...) }
	return p
}

func scheduleInstall(g *globals, p schedule.Place) error {
	c, err := g.loadConfig()
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cfgPath, err := filepath.Abs(c.File)
	if err != nil {
		return err
	}
	inst, err := schedule.Install(c, p, exe, cfgPath)
	switch {
	case inst == nil:
		return err
	case p.Cron:
		g.printf("installed %d crontab entries (logs in %s)\n", inst.Jobs, c.StateDir)
	default:
		g.printf("wrote %d timers to %s: %s\n", len(inst.Timers), inst.Dir, strings.Join(inst.Timers, ", "))
	}
	return err
}

func scheduleRemove(g *globals, p schedule.Place) error {
	dir, units, err := schedule.Remove(p, func(err error) { fmt.Fprintf(g.stderr, "warning: %v\n", err) })
	if err != nil {
		return err
	}
	if p.Cron {
		g.printf("removed cairn's crontab entries\n")
	} else {
		g.printf("removed %d unit files from %s\n", len(units), dir)
	}
	return nil
}

func scheduleStatus(g *globals, p schedule.Place) error {
	c, err := g.loadConfig()
	if err != nil {
		return err
	}
	out := schedule.Status(c, schedule.InstalledJobs(c, p), routine.StateStore{Dir: c.StateDir}, time.Now())
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
