package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/routine"
)

// inProcess runs the cairn commands of a run inside this process and keeps
// the repositories they open, so that a run pays one key derivation and
// one index load per repository instead of one per command. Commands that
// need much memory (backup, restore) still run as a child process, which
// returns its memory to the system when it ends. The messages are the
// same either way: the command's --json output, decoded by the routine
// into the types of package message.
//
// A kept repository is locked by each command as usual; Lock refreshes
// its index when another process changed the index files meanwhile
// (design §12.9). A command that fails gives up the repositories it used,
// so no state of a failed command is carried into the next.
type inProcess struct {
	g     *globals
	child routine.Binary

	mu    sync.Mutex // one command at a time; guards repos and opens
	repos map[string]*repo.Repository
	opens int // repositories opened (keys derived), for tests and logs
}

// isolated commands run as a child process.
var isolated = []string{"backup", "restore"}

// Cairn implements routine.Executor.
func (x *inProcess) Cairn(ctx context.Context, c routine.Command) (routine.Result, error) {
	if len(c.Args) == 0 || slices.Contains(isolated, c.Args[0]) {
		return x.child.Cairn(ctx, c)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	creds, err := routine.S3Env(c.Repo)
	if err != nil {
		return routine.Result{}, err
	}
	var out, errb bytes.Buffer
	g := &globals{stdout: &out, stderr: &errb, stdin: c.Stdin, repoCache: x, s3Creds: creds, workDir: x.child.Dir}
	if g.stdin == nil {
		g.stdin = strings.NewReader("")
	}
	if creds == nil {
		g.s3Creds = routine.AWSFromEnviron()
	}
	args := []string{"--repo", c.Repo.URL, "--password-file=" + c.Repo.PasswordFile,
		"--password-command=" + c.Repo.PasswordCommand, "--retry-lock", x.child.RetryLock.String()}
	if c.Repo.CACert != "" {
		args = append(args, "--cacert", c.Repo.CACert)
	}
	if c.From != nil {
		if g.s3FromCreds, err = routine.S3Env(c.From); err != nil {
			return routine.Result{}, err
		}
		if g.s3FromCreds == nil {
			g.s3FromCreds = routine.AWSFromEnviron()
		}
		args = append(args, c.Args[0], "--from-repo", c.From.URL, "--from-password-file="+c.From.PasswordFile,
			"--from-password-command="+c.From.PasswordCommand)
		args = append(args, c.Args[1:]...)
	} else {
		args = append(args, c.Args...)
	}
	root := newRootCmd(g)
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	res := routine.Result{Stdout: out.Bytes()}
	if err != nil {
		res.Code = exitCode(ctx, err)
		if res.Code == exitInterrupted && errors.Is(err, context.Canceled) {
			fmt.Fprintln(&errb, "cairn: interrupted")
		} else {
			fmt.Fprintf(&errb, "cairn: %s\n", sentence(err))
		}
	} else {
		res.Code = g.exitCode
	}
	if res.Code != 0 {
		x.forget(g.usedRepos)
	}
	res.Stderr = errb.String()
	return res, nil
}

// repoKey names a kept repository: its location and password source.
func repoKey(loc, passwordFile, passwordCommand string, creds []string) string {
	return loc + "\x00" + passwordFile + "\x00" + passwordCommand + "\x00" + strings.Join(creds, "\x00")
}

// get returns a kept repository, or nil. x.mu is held.
func (x *inProcess) get(key string) *repo.Repository { return x.repos[key] }

// keep remembers an opened repository. x.mu is held.
func (x *inProcess) keep(key string, r *repo.Repository) {
	if x.repos == nil {
		x.repos = map[string]*repo.Repository{}
	}
	x.repos[key] = r
	x.opens++
}

// forget drops and closes the repositories a failed command used. x.mu is
// held.
func (x *inProcess) forget(keys []string) {
	for _, k := range keys {
		if r := x.repos[k]; r != nil {
			_ = r.Close()
			delete(x.repos, k)
		}
	}
}

// Close closes every kept repository.
func (x *inProcess) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for k, r := range x.repos {
		_ = r.Close()
		delete(x.repos, k)
	}
	return nil
}
