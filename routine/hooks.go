package routine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// HookEnv is what a hook learns about the run, as CAIRN_* variables.
type HookEnv struct {
	Source, Hook, SnapshotID, Status, Error string
	// Dir is the working directory: the configuration file's.
	Dir string
}

// secretEnv reports whether an environment variable carries a secret.
func secretEnv(kv string) bool {
	k, _, _ := strings.Cut(kv, "=")
	switch {
	case strings.HasPrefix(k, "CAIRN_") && strings.Contains(k, "PASSWORD"):
		return true
	case k == "AWS_SECRET_ACCESS_KEY" || k == "AWS_SESSION_TOKEN" || k == "AWS_ACCESS_KEY_ID":
		return true
	}
	return false
}

// RunHook runs one hook command with sh -c, bounded by timeout. Its
// output is returned for the log. Secrets are removed from its
// environment unless passSecrets.
func RunHook(ctx context.Context, command string, he HookEnv, timeout time.Duration, passSecrets bool) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Dir = he.Dir
	for _, kv := range os.Environ() {
		if passSecrets || !secretEnv(kv) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "CAIRN_SOURCE="+he.Source, "CAIRN_HOOK="+he.Hook,
		"CAIRN_SNAPSHOT_ID="+he.SnapshotID, "CAIRN_STATUS="+he.Status, "CAIRN_ERROR="+he.Error)
	// The hook's children die with it when it times out.
	killGroup(cmd)
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return out.String(), fmt.Errorf("%s hook %q timed out after %v", he.Hook, command, timeout)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), fmt.Errorf("%s hook %q exited %d", he.Hook, command, exit.ExitCode())
	}
	if err != nil {
		return out.String(), fmt.Errorf("%s hook %q: %w", he.Hook, command, err)
	}
	return out.String(), nil
}

// ShellQuote quotes arguments for sh and for crontab lines.
func ShellQuote(args []string) string {
	var out []string
	for _, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\"'\\$`;&|<>()*?[]#~%\n") {
			out = append(out, a)
			continue
		}
		// % ends a command in crontab lines unless escaped.
		out = append(out, "'"+strings.ReplaceAll(strings.ReplaceAll(a, "'", `'\''`), "%", `\%`)+"'")
	}
	return strings.Join(out, " ")
}
