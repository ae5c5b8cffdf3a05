package main

import (
	"context"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/assurance"
	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/routine"
)

// configuredRecords reads and writes records in repositories of the
// configuration, opening each in this process.
type configuredRecords struct{ g *globals }

// openConfigured opens a repository of the configuration, with its
// password source and S3 credentials.
func (g *globals) openConfigured(ctx context.Context, r *config.Repository) (*repo.Repository, error) {
	g2 := *g
	g2.repo, g2.passwordFile, g2.passwordCommand = r.URL, r.PasswordFile, r.PasswordCommand
	if r.CACert != "" {
		g2.cacert = r.CACert
	}
	env, err := routine.S3Env(r)
	if err != nil {
		return nil, err
	}
	// The repository's own credentials, or none: never those of the
	// repository opened before it.
	g2.s3Creds = env
	if env == nil {
		g2.s3Creds = routine.AWSFromEnviron()
	}
	return g2.openRepo(ctx)
}

// SaveRecord implements assurance.Records.
func (c configuredRecords) SaveRecord(ctx context.Context, r *config.Repository, kind byte, v any) (string, error) {
	rp, err := c.g.openConfigured(ctx, r)
	if err != nil {
		return "", err
	}
	defer rp.Close()
	unlock, err := c.g.lock(ctx, rp, false)
	if err != nil {
		return "", err
	}
	defer unlock()
	return rp.SaveJSONRecord(ctx, kind, v)
}

// LoadRecords implements assurance.Records.
func (c configuredRecords) LoadRecords(ctx context.Context, r *config.Repository, kind byte) ([]repo.JSONRecord, error) {
	rp, err := c.g.openConfigured(ctx, r)
	if err != nil {
		return nil, err
	}
	defer rp.Close()
	return rp.LoadJSONRecords(ctx, kind)
}

// Immutability reads a configured repository's object lock and probes,
// with its backup credentials, whether they can delete. A probe writes
// canaries, which an object-locked bucket keeps for its retention, so a
// console refreshing every minute reuses a probe for probeTTL.
func (c configuredRecords) Immutability(ctx context.Context, r *config.Repository) (assurance.Immutability, error) {
	key := r.URL + "\x00" + r.S3CredentialsFile
	probes.mu.Lock()
	p, ok := probes.m[key]
	probes.mu.Unlock()
	if ok && time.Since(p.at) < probeTTL {
		return p.prot, nil
	}
	rp, err := c.g.openConfigured(ctx, r)
	if err != nil {
		return assurance.Immutability{}, err
	}
	defer rp.Close()
	prot, err := rp.ProbeProtection(ctx)
	if err == nil {
		probes.mu.Lock()
		probes.m[key] = probe{prot: prot, at: time.Now()}
		probes.mu.Unlock()
	}
	return prot, err
}

// probeTTL is how long a protection probe's answer is reused.
const probeTTL = time.Hour

type probe struct {
	prot assurance.Immutability
	at   time.Time
}

// probes are the recent protection probes, by repository URL and
// credentials file; mu guards m.
var probes = struct {
	mu sync.Mutex
	m  map[string]probe
}{m: map[string]probe{}}
