package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/routine"
	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config check|show|hash-password",
		Short: "Validate or print the configuration file",
		Long: `The configuration file (TOML) names repositories and the sources backed
up to them: paths or a database, tier, RPO and RTO, targets (primary first,
then copies), retention, schedule, hooks, notifications and drills. It is
read from --config FILE, else ./cairn.toml, else ~/.config/cairn/cairn.toml.
See examples/cairn.toml.`,
		Example: `  cairn config check
  cairn --config /etc/cairn/cairn.toml config show`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print every problem with its line",
		Example: `  cairn config check
  cairn --config examples/cairn.toml config check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.loadConfig()
			if err != nil {
				return err
			}
			g.printf("%s: %d repositories, %d sources: ok\n", c.File, len(c.Repositories), len(c.Sources))
			return nil
		},
	}, &cobra.Command{
		Use:     "show",
		Short:   "Print the merged configuration, defaults filled in, secrets masked",
		Example: `  cairn config show`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.loadConfig()
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(maskedJSON(c))
			}
			out, err := config.Show(c)
			if err != nil {
				return err
			}
			_, err = g.stdout.Write(out)
			return err
		},
	}, &cobra.Command{
		Use:   "hash-password",
		Short: "Print a bcrypt hash of a password, for console.password-hash",
		Long: `Read a password (on a terminal, twice; else the first line of standard
input) and print its bcrypt hash, for [console] password-hash in the
configuration: the console's log-in page then accepts that password
besides its token. The password itself is never written anywhere.`,
		Example: `  cairn config hash-password
  printf '%s\n' "$CONSOLE_PASSWORD" | cairn config hash-password`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var pw []byte
			if f, ok := g.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				var err error
				if pw, err = g.newPassword(""); err != nil {
					return err
				}
			} else {
				line, err := bufio.NewReader(g.stdin).ReadString('\n')
				if err != nil && line == "" {
					return errors.New("give the password on standard input")
				}
				pw = []byte(strings.TrimRight(line, "\r\n"))
			}
			if len(pw) < 8 {
				return errors.New("the console password needs at least 8 characters")
			}
			h, err := bcrypt.GenerateFromPassword(pw, 12)
			if err != nil {
				return err
			}
			g.printf("%s\n", h)
			return nil
		},
	})
	return cmd
}

// maskedJSON is the configuration as show prints it, for --json.
func maskedJSON(c *config.Config) any {
	out, _ := config.Show(c)
	var m map[string]any
	if err := decodeTOML(out, &m); err != nil {
		return map[string]string{"error": err.Error()}
	}
	return m
}

// loadConfig reads the configuration; problems print one per line, each
// with its line number.
func (g *globals) loadConfig() (*config.Config, error) {
	c, err := config.Load(g.configFile)
	var ps config.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Fprintln(g.stderr, p)
		}
		if len(ps) == 1 {
			return nil, errors.New("the configuration has a problem")
		}
		return nil, fmt.Errorf("the configuration has %d problems", len(ps))
	}
	if err == nil {
		for _, w := range c.Warnings {
			fmt.Fprintf(g.stderr, "warning: %s\n", w)
		}
	}
	return c, err
}

// runner builds the runner of configured sources.
func (g *globals) runner(c *config.Config) (*routine.Runner, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return &routine.Runner{Config: c, Exec: routine.Binary{Path: exe, RetryLock: time.Hour, Dir: c.Dir()},
		Store: routine.StateStore{Dir: c.StateDir}, Now: time.Now, Log: g.logWriter()}, nil
}

// runnerInProcess is runner for "cairn run": its commands run inside this
// process and share the repositories they open (see inProcess), but for
// backup and restore. Close the returned executor when done.
func (g *globals) runnerInProcess(c *config.Config) (*routine.Runner, *inProcess, error) {
	r, err := g.runner(c)
	if err != nil {
		return nil, nil, err
	}
	x := &inProcess{g: g, child: r.Exec.(routine.Binary)}
	r.Exec = x
	return r, x, nil
}

func decodeTOML(b []byte, v any) error { return toml.Unmarshal(b, v) }

// logWriter is where step logs go: stdout, or stderr when stdout carries
// JSON, or nowhere with --quiet.
func (g *globals) logWriter() io.Writer {
	switch {
	case g.quiet:
		return io.Discard
	case g.json:
		return g.stderr
	}
	return g.stdout
}
