package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/assurance"
	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/console"
	"github.com/cairn-backup/cairn/duration"
	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/routine"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

// consoleFlags configure the web console of serve and daemon.
type consoleFlags struct {
	tokenFile, tlsCert, tlsKey string
}

func (c *consoleFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.tokenFile, "token-file", "", "read the console's token from `file` (created with a new token if missing); default: a new token printed at start")
	cmd.Flags().StringVar(&c.tlsCert, "tls-cert", "", "serve https with the certificate in PEM `file` (with --tls-key)")
	cmd.Flags().StringVar(&c.tlsKey, "tls-key", "", "the private key of --tls-cert (PEM `file`)")
}

// token returns the console's token: from the token file (a new one is
// written there, 0600, when it is missing), or a new one printed once.
func (c *consoleFlags) token(g *globals) (string, error) {
	if c.tokenFile == "" {
		t := console.NewToken()
		fmt.Fprintf(g.stderr, "console token: %s\n", t)
		return t, nil
	}
	return readToken(g, c.tokenFile, "console token", true)
}

// readToken reads a token from file; with create, a missing file gets a
// new token (0600), and says so.
func readToken(g *globals, file, what string, create bool) (string, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) && create {
		t := console.NewToken()
		if err := os.WriteFile(file, []byte(t+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("write %s file: %w", what, err)
		}
		fmt.Fprintf(g.stderr, "%s written to %s\n", what, file)
		return t, nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s file: %w", what, err)
	}
	t := strings.TrimSpace(string(b))
	if len(t) < 16 {
		return "", fmt.Errorf("%s file %s: the token must have at least 16 characters", what, file)
	}
	return t, nil
}

// startReporter posts this host's overview to the fleet's console of
// [console] report-to until ctx ends, when the configuration names one.
func startReporter(ctx context.Context, g *globals, c *config.Config, con *console.Server) error {
	if c.Console.ReportTo == "" {
		return nil
	}
	token, err := readToken(g, c.Console.ReportTokenFile, "fleet token", false)
	if err != nil {
		return err
	}
	every := time.Minute
	if c.Console.ReportEvery != "" {
		every = config.Duration(c.Console.ReportEvery)
	}
	rp := &console.Reporter{URL: c.Console.ReportTo, Token: token, Host: hostName(c), Every: every, Overview: con.Overview,
		Log: func(format string, args ...any) { g.writeLine(g.stderr, fmt.Sprintf(format, args...)) }}
	fmt.Fprintf(g.stderr, "reporting to the fleet's console %s every %s as host %s\n", rp.URL, duration.Short(every), rp.Host)
	go rp.Run(ctx)
	return nil
}

// hostName is this host's name in the fleet: the configuration's host,
// else the machine's.
func hostName(c *config.Config) string {
	if c.Host != "" {
		return c.Host
	}
	h, _ := os.Hostname()
	return h
}

// serveConsole serves the console (and /metrics) on listen until ctx ends.
// Settings not given as flags come from the configuration's [console].
func serveConsole(ctx context.Context, g *globals, c *config.Config, listen string, cf *consoleFlags) (con *console.Server, stop func(), err error) {
	if cf.tokenFile == "" {
		cf.tokenFile = c.Console.TokenFile
	}
	if cf.tlsCert == "" && cf.tlsKey == "" {
		cf.tlsCert, cf.tlsKey = c.Console.TLSCert, c.Console.TLSKey
	}
	token, err := cf.token(g)
	if err != nil {
		return nil, nil, err
	}
	if con, err = newConsole(ctx, g, c, token); err != nil {
		return nil, nil, err
	}
	stop, err = listenConsole(g, c, con, listen, cf)
	return con, stop, err
}

// newConsole builds the console of the configuration; with token "" no
// one can log in to it (a daemon that only reports to the fleet's
// console).
func newConsole(ctx context.Context, g *globals, c *config.Config, token string) (*console.Server, error) {
	fleetToken := ""
	if c.Console.FleetTokenFile != "" {
		var err error
		if fleetToken, err = readToken(g, c.Console.FleetTokenFile, "fleet token", true); err != nil {
			return nil, err
		}
	}
	af := &automationFlags{}
	var targets []string
	for name := range c.Repositories {
		targets = append(targets, name)
	}
	sort.Strings(targets)
	var sources []string
	for name := range c.Sources {
		sources = append(sources, name)
	}
	sort.Strings(sources)
	return console.New(console.Options{Token: token, PasswordHash: c.Console.PasswordHash, Targets: targets, Sources: sources, Background: ctx,
		Host: hostName(c), FleetToken: fleetToken,
		Act: func(ctx context.Context, kind, source string, log io.Writer) (bool, string, error) {
			return consoleAction(ctx, g, c, kind, source, log)
		},
		Report: func(ctx context.Context) (*assurance.Report, error) {
			r, err := g.runner(c)
			if err != nil {
				return nil, err
			}
			return assurance.AuditSources(ctx, r, configuredRecords{g}, nil, af.places())
		},
		Restore: func(ctx context.Context, target, snap, p, dest string, log io.Writer, progress func(console.ActionProgress)) (bool, string, error) {
			return consoleRestore(ctx, g, c, target, snap, p, dest, log, progress)
		},
		Open: func(ctx context.Context, name string) (*repo.Repository, func(), error) {
			rp, err := g.openConfigured(ctx, c.Repositories[name])
			if err != nil {
				return nil, nil, err
			}
			unlock, err := g.lock(ctx, rp, false)
			if err != nil {
				_ = rp.Close()
				return nil, nil, err
			}
			return rp, func() { unlock(); _ = rp.Close() }, nil
		}}), nil
}

// listenConsole serves con (and /metrics) on listen until stop is called.
func listenConsole(g *globals, c *config.Config, con *console.Server, listen string, cf *consoleFlags) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", routine.MetricsHandler(c, routine.StateStore{Dir: c.StateDir}, time.Now))
	mux.Handle("/", con)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if cf.tlsCert != "" || cf.tlsKey != "" {
		cert, err := tls.LoadX509KeyPair(cf.tlsCert, cf.tlsKey)
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(g.stderr, "serving metrics on %[1]s://%[2]s/metrics and the console on %[1]s://%[2]s/\n", scheme, ln.Addr())
	return func() { _ = srv.Close() }, nil
}

// consoleAction performs a console action as the command line would:
// run and drill as "cairn run" and "cairn drill" do (child processes that
// take their own locks and record their results), check as "cairn check"
// on each of the source's targets.
func consoleAction(ctx context.Context, g *globals, c *config.Config, kind, source string, log io.Writer) (bool, string, error) {
	r, err := g.runner(c)
	if err != nil {
		return false, "", err
	}
	r.Log = log
	switch kind {
	case "run":
		rep := r.Run(ctx, source)
		return rep.ExitCode() == 0, "run " + rep.Status, nil
	case "drill":
		rec, err := assurance.Drill(ctx, r, source, assurance.DrillOptions{}, configuredRecords{g})
		if err != nil {
			return false, "", err
		}
		verdict := map[bool]string{true: "PASS", false: "FAIL"}[rec.Pass]
		fmt.Fprintf(log, "drill of %s from %s, snapshot %s: %s\n", source, rec.Target, short8(rec.Snapshot), verdict)
		return rec.Pass, "drill " + verdict + " " + strings.Join(rec.Reasons, "; "), nil
	case "check":
		s := r.Begin(ctx, source)
		ok := true
		for _, t := range c.Sources[source].Targets {
			res, err := s.Cairn(routine.Command{Repo: c.Repositories[t], Args: []string{"check", "--json"}})
			switch {
			case err != nil:
				ok = false
				fmt.Fprintf(log, "check %s: %v\n", t, err)
			case res.Code != 0:
				ok = false
				fmt.Fprintf(log, "check %s: FAILED: %s\n", t, routine.FailureMessage(res, nil))
			default:
				fmt.Fprintf(log, "check %s: ok\n", t)
			}
		}
		return ok, "check " + map[bool]string{true: "ok", false: "found problems"}[ok], nil
	}
	return false, "", fmt.Errorf("unknown action %q", kind)
}

// consoleRestore restores p of a snapshot into dest, as "cairn restore
// SNAPSHOT:P --target DEST --overwrite if-changed" does, with a progress
// line every second and one line per file it could not restore.
func consoleRestore(ctx context.Context, g *globals, c *config.Config, target, snap, p, dest string, log io.Writer,
	progress func(console.ActionProgress)) (bool, string, error) {
	rp, err := g.openConfigured(ctx, c.Repositories[target])
	if err != nil {
		return false, "", err
	}
	defer rp.Close()
	unlock, err := g.lock(ctx, rp, false)
	if err != nil {
		return false, "", err
	}
	defer unlock()
	s, err := rp.FindSnapshotRef(ctx, snap)
	if err != nil {
		return false, "", err
	}
	x := engine.NewRestore(rp, s, engine.RestoreOptions{SubPath: p, Target: dest, RestoreOptions: snapshot.RestoreOptions{
		Overwrite: snapshot.OverwriteIfChanged, Owner: os.Geteuid() == 0,
		OnWarning: func(path string, err error) { fmt.Fprintf(log, "error: %s: %v\n", path, err) }}})
	fmt.Fprintf(log, "restoring %s:%s of %s into %s\n", s.ID.Short(), p, target, dest)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case <-t.C:
				pr := x.Progress()
				ap := console.ActionProgress{FilesDone: pr.FilesDone.Load(), TotalFiles: pr.TotalFiles.Load(),
					BytesDone: pr.BytesDone.Load(), TotalBytes: pr.TotalBytes.Load()}
				progress(ap)
				if n%4 == 0 { // a line a second, for the log
					fmt.Fprintf(log, "%d of %d files, %s of %s\n", ap.FilesDone, ap.TotalFiles, ibytes(ap.BytesDone), ibytes(ap.TotalBytes))
				}
			}
		}
	}()
	sum, err := x.Run(ctx)
	close(done)
	if err != nil {
		return false, "", err
	}
	msg := fmt.Sprintf("restored %d files (%d skipped as unchanged), %s", sum.FilesRestored, sum.FilesSkipped, ibytes(sum.BytesWritten))
	fmt.Fprintln(log, msg)
	if len(sum.Failed) > 0 || sum.Refused > 0 {
		return false, fmt.Sprintf("%s; %d could not be restored, %d refused", msg, len(sum.Failed), sum.Refused), nil
	}
	return true, msg, nil
}

func newServeCmd(g *globals) *cobra.Command {
	var listen string
	var cf consoleFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the web console (without running schedules)",
		Long: `Serve the web console of the configuration's sources: an overview of
every source's protection (tier, RPO and RTO, last backup and drill
against them, rolling-check coverage, targets, verdict and its reasons)
and the audit report, with a JSON API (README: "Web console"). "cairn
daemon --listen" serves the same beside the schedules.

It listens on 127.0.0.1:8080 by default. Every page and API call needs the
console's token: printed at start, or kept in --token-file. Give
--tls-cert and --tls-key to serve https.`,
		Example: `  cairn serve
  cairn serve --listen 127.0.0.1:8080 --token-file ~/.config/cairn/console-token
  curl -H "Authorization: Bearer $(cat ~/.config/cairn/console-token)" http://127.0.0.1:8080/api/overview`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.loadConfig()
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("listen") && c.Console.Listen != "" {
				listen = c.Console.Listen
			}
			con, stop, err := serveConsole(cmd.Context(), g, c, listen, &cf)
			if err != nil {
				return err
			}
			defer stop()
			if err := startReporter(cmd.Context(), g, c, con); err != nil {
				return err
			}
			<-cmd.Context().Done()
			return cmd.Context().Err()
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "serve on `address` (host:port)")
	cf.add(cmd)
	return cmd
}
