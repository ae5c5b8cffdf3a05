package main

import (
	"context"
	"os"
	"strings"

	"github.com/cairn-backup/cairn/ops"
	"github.com/cairn-backup/cairn/profile"
	"github.com/cairn-backup/cairn/repo"
)

// configuredRecords reads and writes records in repositories of the
// configuration, opening each in this process.
type configuredRecords struct{ g *globals }

// openConfigured opens a repository of the configuration, with its
// password source and S3 credentials.
func (g *globals) openConfigured(ctx context.Context, r *profile.Repository) (*repo.Repository, error) {
	g2 := *g
	g2.repo, g2.passwordFile, g2.passwordCommand = r.URL, r.PasswordFile, r.PasswordCommand
	if r.CACert != "" {
		g2.cacert = r.CACert
	}
	env, err := ops.S3Env(r)
	if err != nil {
		return nil, err
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	return g2.openRepo(ctx)
}

// SaveRecord implements ops.Records.
func (c configuredRecords) SaveRecord(ctx context.Context, r *profile.Repository, kind byte, v any) (string, error) {
	rp, err := c.g.openConfigured(ctx, r)
	if err != nil {
		return "", err
	}
	unlock, err := c.g.lock(ctx, rp, false)
	if err != nil {
		return "", err
	}
	defer unlock()
	return rp.SaveJSONRecord(ctx, kind, v)
}

// LoadRecords implements ops.Records.
func (c configuredRecords) LoadRecords(ctx context.Context, r *profile.Repository, kind byte) ([]repo.JSONRecord, error) {
	rp, err := c.g.openConfigured(ctx, r)
	if err != nil {
		return nil, err
	}
	return rp.LoadJSONRecords(ctx, kind)
}
