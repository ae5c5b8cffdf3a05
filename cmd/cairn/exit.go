package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/repo"
)

// Exit codes, the same numbers restic uses so scripts carry over.
const (
	exitOK          = 0
	exitError       = 1
	exitPartial     = 3 // backup made, but some files could not be read or some paths were missing
	exitNoRepo      = 10
	exitLockFailed  = 11
	exitWrongPass   = 12
	exitPermission  = 13 // the storage refused an operation to these credentials
	exitInterrupted = 130
)

// codeError carries an explicit exit code.
type codeError struct {
	code int
	err  error
}

// Error returns the wrapped message.
func (e *codeError) Error() string { return e.err.Error() }

// Unwrap returns the wrapped error.
func (e *codeError) Unwrap() error { return e.err }

func exitCode(ctx context.Context, err error) int {
	var ce *codeError
	switch {
	case errors.As(err, &ce):
		return ce.code
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, repo.ErrNoRepository):
		return exitNoRepo
	case errors.Is(err, repo.ErrWrongPassword):
		return exitWrongPass
	case errors.Is(err, repo.ErrLocked), errors.Is(err, repo.ErrLockLost):
		return exitLockFailed
	case errors.Is(err, backend.ErrPermission):
		return exitPermission
	}
	return exitError
}

// sentence makes an error read as one sentence for the user.
func sentence(err error) string {
	var dk *repo.DamagedKeysError
	var nr *engine.NoRepositoryError
	switch {
	case errors.Is(err, backend.ErrNoCredentials):
		return err.Error() + "; give the credentials, or check that the bucket is the one you meant"
	case errors.Is(err, repo.ErrCannotDelete):
		return err.Error() + "; append-only credentials cannot delete: run forget and prune from the maintenance machine"
	case errors.Is(err, backend.ErrPermission):
		return err.Error() + "; check these credentials' policy (the S3 user's permissions on this bucket)"
	case errors.As(err, &dk):
		return dk.Error() + "; if the password is right, restore the key files from a copy or use another key"
	case errors.Is(err, repo.ErrWrongPassword):
		return "wrong password, or no key file matches it"
	case errors.As(err, &nr) && nr.Versioned:
		return fmt.Sprintf("there is no repository at %s, but the bucket keeps an earlier version of its config: its files were deleted and their versions are kept, so \"cairn repair versions --dry-run\" shows what it would bring back (do not run \"cairn init\" over it)", nr.Location)
	case errors.As(err, &nr):
		return fmt.Sprintf("there is no repository at %s (run \"cairn init\" to create one)", nr.Location)
	case errors.Is(err, repo.ErrNoRepository):
		return "there is no repository at that location (run \"cairn init\" to create one)"
	case errors.Is(err, repo.ErrLocked):
		return err.Error() + "; if that process is gone, \"cairn unlock\" removes stale locks, or use --retry-lock to wait."
	}
	s := err.Error()
	if !strings.HasSuffix(s, ".") && !strings.Contains(s, "\n") {
		s += "."
	}
	return s
}

// damage counts the entries a command could not read or refused, after
// reporting each on stderr; the command still does everything else and
// then fails with err, so that its exit code is 1.
type damage struct {
	g      *globals
	during string
	n      int
}

// report is a snapshot.OnWalkError.
func (d *damage) report(p string, err error) {
	d.n++
	d.g.reportItemError(d.during, p, err)
}

// err summarises the damage, or is nil when there was none.
func (d *damage) err() error {
	if d.n == 0 {
		return nil
	}
	if d.n == 1 {
		return errors.New("1 entry could not be read or was refused (named above)")
	}
	return fmt.Errorf("%d entries could not be read or were refused (named above)", d.n)
}

var errNothingToRewrite = errors.New("nothing to rewrite: give --exclude, --snapshot-summary, --new-host or --new-time")

var errPruneNeedsForget = errors.New("--prune needs --forget: while the originals stay, what they hold is still used")

func errBadTime(flag, s string) error {
	return fmt.Errorf("%s %q: want \"2006-01-02 15:04:05\"", flag, s)
}
