package routine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/message"
)

// Command is one cairn command a run performs against a repository.
type Command struct {
	Repo  *config.Repository
	From  *config.Repository // the source repository of a copy
	Args  []string
	Stdin io.Reader
}

// Result is what a cairn command printed and how it exited.
type Result struct {
	Code   int
	Stdout []byte
	Stderr string
}

// Decode decodes the command's --json summary, its last JSON line, into
// v, a type of package message.
func (r Result) Decode(v any) error { return message.Last(r.Stdout, v) }

// Message is the command's last line of error output: cairn prints one
// sentence for an error.
func (r Result) Message() string {
	lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
	msg := strings.TrimSpace(lines[len(lines)-1])
	if msg == "" {
		return fmt.Sprintf("exit code %d", r.Code)
	}
	return msg
}

// Executor runs cairn commands.
type Executor interface {
	Cairn(ctx context.Context, c Command) (Result, error)
}

// Binary runs commands with a cairn executable, passing each repository's
// location and password source in the environment (never on the command
// line, where other users could read them).
type Binary struct {
	Path string
	// RetryLock makes every command wait this long for a conflicting
	// lock (another source's prune, say) instead of failing.
	RetryLock time.Duration
	// Dir is the commands' working directory (the configuration file's,
	// so that a relative password-command finds its script); empty means
	// this process's.
	Dir string
}

// Cairn implements Executor.
func (b Binary) Cairn(ctx context.Context, c Command) (Result, error) {
	env, err := commandEnv(c)
	if err != nil {
		return Result{}, err
	}
	args := c.Args
	if b.RetryLock > 0 {
		args = append([]string{"--retry-lock", b.RetryLock.String()}, args...)
	}
	if c.Repo.CACert != "" {
		args = append([]string{"--cacert", c.Repo.CACert}, args...)
	}
	cmd := exec.CommandContext(ctx, b.Path, args...)
	cmd.Env = env
	cmd.Dir = b.Dir
	cmd.Stdin = c.Stdin
	// Ctrl-C and SIGTERM stop the child cleanly (exit 130, no partial
	// snapshot, lock removed) rather than killing it.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 2 * time.Minute
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	res := Result{Stdout: out.Bytes(), Stderr: errb.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.Code = exit.ExitCode()
		if res.Code < 0 {
			res.Code = 130
		}
	case err != nil:
		return res, fmt.Errorf("run cairn: %w", err)
	}
	return res, nil
}

// commandEnv builds the child's environment: this process's, without any
// repository or password settings of its own, plus those of c.
func commandEnv(c Command) ([]string, error) {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CAIRN_") || strings.HasPrefix(kv, "CAIRN_TEST_") {
			env = append(env, kv)
		}
	}
	env = append(env, repoEnv("CAIRN_", c.Repo)...)
	creds, err := S3Env(c.Repo)
	if err != nil {
		return nil, err
	}
	env = append(env, creds...)
	if c.From != nil {
		env = append(env, repoEnv("CAIRN_FROM_", c.From)...)
		from, err := S3Env(c.From)
		if err != nil {
			return nil, err
		}
		if from == nil && creds != nil {
			// The destination's file replaces AWS_*: the source keeps the
			// credentials of this process's environment.
			from = AWSFromEnviron()
		}
		// The copy's source reads CAIRN_FROM_AWS_*, so two accounts work.
		for _, kv := range from {
			env = append(env, "CAIRN_FROM_"+kv)
		}
	}
	return env, nil
}

// AWSFromEnviron returns the AWS_* credentials of this process's
// environment as KEY=VALUE lines.
func AWSFromEnviron() []string {
	var out []string
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"} {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

func repoEnv(prefix string, r *config.Repository) []string {
	env := []string{prefix + "REPOSITORY=" + r.URL}
	switch {
	case r.PasswordFile != "":
		env = append(env, prefix+"PASSWORD_FILE="+r.PasswordFile)
	case r.PasswordCommand != "":
		env = append(env, prefix+"PASSWORD_COMMAND="+r.PasswordCommand)
	case os.Getenv(prefix+"PASSWORD") != "":
		env = append(env, prefix+"PASSWORD="+os.Getenv(prefix+"PASSWORD"))
	case os.Getenv("CAIRN_PASSWORD") != "":
		// One password for every repository, from the environment.
		env = append(env, prefix+"PASSWORD="+os.Getenv("CAIRN_PASSWORD"))
	}
	return env
}

// S3Env reads a repository's S3 credentials file (KEY=VALUE lines).
func S3Env(r *config.Repository) ([]string, error) {
	if r.S3CredentialsFile == "" {
		return nil, nil
	}
	f, err := os.Open(r.S3CredentialsFile)
	if err != nil {
		return nil, fmt.Errorf("repository %s: read S3 credentials: %w", r.Name, err)
	}
	defer f.Close()
	var env []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		switch k = strings.TrimSpace(k); {
		case !ok:
			return nil, fmt.Errorf("repository %s: %s line %d: want KEY=VALUE", r.Name, r.S3CredentialsFile, n)
		case k == "AWS_ACCESS_KEY_ID" || k == "AWS_SECRET_ACCESS_KEY" || k == "AWS_SESSION_TOKEN" || k == "AWS_DEFAULT_REGION":
			env = append(env, k+"="+strings.Trim(strings.TrimSpace(v), `"'`))
		default:
			return nil, fmt.Errorf("repository %s: %s line %d: unknown key %q", r.Name, r.S3CredentialsFile, n, k)
		}
	}
	return env, sc.Err()
}
