package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/crypto"
)

// LockModeRank orders lock modes by strength: none (0), governance (1),
// compliance (2).
func LockModeRank(mode string) int {
	switch mode {
	case LockCompliance:
		return 2
	case LockGovernance:
		return 1
	}
	return 0
}

// wholeDays reports whether d can be a bucket default (design §12b).
func wholeDays(d time.Duration) bool { return d > 0 && d%(24*time.Hour) == 0 }

// bucketDefaultWeakness says how the bucket's default retention is weaker
// than the config's policy ("" when it is not, or when the storage has no
// bucket default or the policy cannot be one). An attacker holding the
// bucket owner's keys can change it (S3 allows compliance to governance
// for the default); files written afterwards by credentials that may not
// set a retention of their own get the weaker one.
func (r *Repository) bucketDefaultWeakness(ctx context.Context) (string, error) {
	br, ok := backend.FindRetainer(r.be).(backend.BucketRetainer)
	if !ok || !r.cfg.Lock.Enabled() || !wholeDays(r.cfg.Lock.Period) {
		return "", nil
	}
	mode, period, err := br.BucketDefault(ctx)
	if err != nil {
		return "", err
	}
	remedy := fmt.Sprintf("run \"cairn prune\" with the maintenance credentials, which sets it again to %s for %v", r.cfg.Lock.Mode, r.cfg.Lock.Period)
	switch {
	case mode == "":
		return "the bucket has no default retention; the config asks " + r.cfg.Lock.Mode + ": " + remedy, nil
	case LockModeRank(mode) < LockModeRank(r.cfg.Lock.Mode):
		return fmt.Sprintf("the bucket's default retention is %s, weaker than the config's %s: %s", mode, r.cfg.Lock.Mode, remedy), nil
	case period < r.cfg.Lock.Period:
		return fmt.Sprintf("the bucket's default retention is %v, shorter than the config's %v: %s", period, r.cfg.Lock.Period, remedy), nil
	}
	return "", nil
}

// restoreBucketDefault sets the bucket's default retention to the
// config's policy again when it is weaker.
func (r *Repository) restoreBucketDefault(ctx context.Context) error {
	weak, err := r.bucketDefaultWeakness(ctx)
	if err != nil || weak == "" {
		return err
	}
	br := backend.FindRetainer(r.be).(backend.BucketRetainer)
	if err := br.SetBucketDefault(ctx, r.cfg.Lock.Mode, r.cfg.Lock.Period); err != nil {
		return fmt.Errorf("set the bucket's default retention again: %w", err)
	}
	return nil
}

// Protection is what protects a repository from the machine whose
// credentials opened it, as ProbeProtection found it.
type Protection struct {
	Lock LockPolicy
	// CanDelete: these credentials can delete a file (a canary).
	CanDelete bool
	// CanBypass: these credentials can delete a governance-locked
	// version for good (nil: not probed, as with compliance mode or
	// credentials that cannot delete).
	CanBypass *bool
	// Weak says how the storage's lock is weaker than the config's (the
	// bucket's default retention); "" when it is not.
	Weak string
}

// Kind names the protection that holds against these credentials:
// "compliance lock", "governance lock" (bypass refused to them),
// "append-only credentials" (they cannot delete; with a governance
// lock, "governance lock and append-only credentials"), or "" for none.
// A weakened bucket default (Weak) is judged apart.
func (p Protection) Kind() string {
	governance := p.Lock.Mode == LockGovernance && (p.CanBypass == nil || !*p.CanBypass)
	switch {
	case p.Lock.Mode == LockCompliance:
		return "compliance lock"
	case !p.CanDelete && governance:
		return "governance lock and append-only credentials"
	case !p.CanDelete:
		return "append-only credentials"
	case governance && p.CanBypass != nil:
		return "governance lock"
	}
	return ""
}

// ProbeProtection finds out what a holder of this handle's credentials
// can do: delete a file (a canary release marker), and, under a
// governance lock, delete a governance-locked version for good with the
// bypass; and whether the bucket's default retention is weaker than the
// config's.
func (r *Repository) ProbeProtection(ctx context.Context) (Protection, error) {
	p := Protection{Lock: r.cfg.Lock, CanDelete: true}
	if err := r.CanDelete(ctx); errors.Is(err, backend.ErrPermission) {
		p.CanDelete = false
	} else if err != nil {
		return p, err
	}
	weak, err := r.bucketDefaultWeakness(ctx)
	if err != nil {
		return p, err
	}
	p.Weak = weak
	br, ok := backend.FindRetainer(r.be).(backend.BucketRetainer)
	if !ok || r.cfg.Lock.Mode != LockGovernance || !p.CanDelete {
		return p, nil
	}
	host, user := hostUser()
	canary := LockInfo{Time: r.opts.Now().UTC(), Host: host, User: user, PID: os.Getpid(), Released: true}
	data, err := sealFile(r.key, crypto.KindLock, canary.encode())
	if err != nil {
		return p, err
	}
	bypassed, err := br.ProbeBypass(ctx, backend.Handle{Type: backend.Lock, Name: crypto.Hash(data).String()}, data)
	if err != nil {
		return p, err
	}
	p.CanBypass = &bypassed
	return p, nil
}
