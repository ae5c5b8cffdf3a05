package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/console"
	"github.com/cairn-backup/cairn/routine"
	"github.com/cairn-backup/cairn/schedule"
	"github.com/spf13/cobra"
)

func newDaemonCmd(g *globals) *cobra.Command {
	var listen string
	var cf consoleFlags
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run every source on its schedule, without systemd or cron",
		Long: `Run in the foreground and start each source's run (and drill) when its
cron schedule says, one run at a time per source. A job whose time passed
while the daemon was not running (the machine was off) runs once at
start-up. When a source's newest successful backup is older than its RPO,
the daemon sends an rpo-missed notification, once per missed window.

With --listen (or daemon.listen in the configuration) it serves the web
console (as "cairn serve" does; every request needs its token) and
Prometheus metrics at /metrics. SIGTERM or Ctrl-C stops it cleanly: runs in progress
are interrupted (no partial snapshot, locks removed) and waited for.`,
		Example: `  cairn daemon
  cairn --config /etc/cairn/cairn.toml daemon --listen 127.0.0.1:9765`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.loadConfig()
			if err != nil {
				return err
			}
			if listen == "" {
				listen = c.Daemon.Listen
			}
			return runDaemon(cmd.Context(), g, c, listen, &cf)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "serve the console and /metrics on `address` (host:port)")
	cf.add(cmd)
	return cmd
}

func runDaemon(ctx context.Context, g *globals, c *config.Config, listen string, cf *consoleFlags) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cfgPath, err := filepath.Abs(c.File)
	if err != nil {
		return err
	}
	store := routine.StateStore{Dir: c.StateDir}
	var con *console.Server
	if listen != "" {
		var stop func()
		if con, stop, err = serveConsole(ctx, g, c, listen, cf); err != nil {
			return err
		}
		defer stop()
	} else if c.Console.ReportTo != "" {
		if con, err = newConsole(ctx, g, c, ""); err != nil {
			return err
		}
	}
	if con != nil {
		if err := startReporter(ctx, g, c, con); err != nil {
			return err
		}
	}
	d := &schedule.Daemon{Config: c, Store: store, Clock: schedule.RealClock{}, Log: g.stderr,
		RunJob: func(ctx context.Context, j schedule.Job) string { return runJob(ctx, g, exe, cfgPath, j) }}
	return d.Serve(ctx)
}

// runJob runs one scheduled job as a child cairn process, which takes its
// own locks and state; Ctrl-C and SIGTERM reach it as SIGINT.
func runJob(ctx context.Context, g *globals, exe, cfgPath string, j schedule.Job) string {
	cmd := exec.CommandContext(ctx, exe, append([]string{"--config", cfgPath}, j.Args...)...)
	cmd.Stdout, cmd.Stderr = g.stderr, g.stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 5 * time.Minute
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &exit):
		return fmt.Sprintf("exit %d", exit.ExitCode())
	}
	return err.Error()
}
