//go:build linux

package main

import (
	"encoding/json"
	"github.com/cairn-backup/cairn/assurance"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuditGateRunbookStatus(t *testing.T) {
	hooks := newHookServer(t)
	cfg, dir := protectedProject(t, hooks, `
[sources.app-db.drill]
verify = ["sqlite3 {dir}/app.db 'PRAGMA integrity_check' | grep -qx ok"]
`)
	env := []string{"CAIRN_CONFIG=" + cfg}
	_, stop := sqliteWriter(t, filepath.Join(dir, "srv", "app", "data", "app.db"))
	defer stop()

	// Nothing done yet: critical sources are no-go, and audit says why.
	r := cairn(t, env, "audit", "--json")
	var audit assurance.AuditJSON
	if err := strictJSON(r.stdout, &audit); err != nil {
		t.Fatalf("audit --json: %v\n%s", err, r.stdout)
	}
	if r.code != 1 || len(audit.Sources) != 2 || audit.Sources[0].Verdict != "no-go" || audit.Sources[0].State != "none" {
		t.Errorf("audit before any backup: exit %d, %+v", r.code, audit)
	}
	// The gate takes the backup itself, but without a drill it says no-go.
	r = cairn(t, env, "gate", "app", "--json")
	var gate assurance.GateRecord
	if err := strictJSON(r.stdout, &gate); err != nil {
		t.Errorf("gate --json: %v", err)
	}
	if r.code != 1 || gate.Verdict != "no-go" || !gate.BackupTaken || !strings.Contains(r.stderr, "no-go: ") ||
		!strings.Contains(r.stderr, "no restore drill") {
		t.Errorf("gate without a drill: exit %d, %s\n%s", r.code, r.stdout, r.stderr)
	}

	mustRun(t, env, "run", "--all")
	units := filepath.Join(dir, "units")
	mustRun(t, env, "schedule", "install", "--unit-dir", units, "--no-enable")
	mustRun(t, env, "drill", "app")
	mustRun(t, env, "drill", "app-db")
	mustRun(t, env, "runbook", "app")
	mustRun(t, env, "runbook", "app-db")

	md := mustRun(t, env, "audit", "--unit-dir", units)
	for _, want := range []string{"| app | critical | 1h | 4h | script_and_scheduled | **go** |",
		"| app-db | critical | 1h | 4h | script_and_scheduled | **go** |", "| automated | yes (systemd) |", "| offsite copy (3-2-1) | offsite |"} {
		if !strings.Contains(md, want) {
			t.Errorf("audit lacks %q:\n%s", want, md)
		}
	}
	out := mustRun(t, env, "gate", "app", "--json")
	gate = assurance.GateRecord{}
	if err := strictJSON(out, &gate); err != nil {
		t.Errorf("gate --json: %v", err)
	}
	if gate.Verdict != "go" || gate.BackupTaken || !gate.Verified || gate.TreeHash == "" || gate.RunbookHash == "" {
		t.Errorf("gate after run, drill and runbook: %s", out)
	}
	if text := mustRun(t, env, "gate", "app"); !strings.Contains(text, "GO") || !strings.Contains(text, "tree hash") {
		t.Errorf("gate output:\n%s", text)
	}

	book := mustRun(t, env, "runbook", "app-db", "--output", "-")
	for _, want := range []string{"cairn restore latest --tag source=app-db", "PRAGMA integrity_check", "| offsite | copy |", "The last drill",
		"If a repository was attacked", "cairn repair versions --as-of"} {
		if !strings.Contains(book, want) {
			t.Errorf("runbook lacks %q:\n%s", want, book)
		}
	}
	status := mustRun(t, env, "status", "--unit-dir", units)
	for _, want := range []string{"app (critical, RPO 1h, RTO 4h)", "within RPO", "last drill", "offsite       copy:", "schedule      systemd"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	var st []assurance.SourceStatus
	if err := strictJSON(mustRun(t, env, "status", "--json", "--unit-dir", units), &st); err != nil || len(st) != 2 ||
		st[0].Source != "app" || st[0].RPOMissed || st[0].LastSuccess.IsZero() || st[0].Audit == nil || st[0].Audit.Verdict != "go" {
		t.Errorf("status --json: %v %+v", err, st)
	}

	// A failed drill turns the gate to no-go, and the audit too.
	damagePacks(t, filepath.Join(dir, "repo"))
	if r := cairn(t, env, "drill", "app", "--target", "local"); r.code != 1 {
		t.Fatalf("drill of a damaged repository: exit %d", r.code)
	}
	r = cairn(t, env, "gate", "app")
	if r.code != 1 || !strings.Contains(r.stderr, "failed") {
		t.Errorf("gate after a failed drill: exit %d\n%s", r.code, r.stderr)
	}
	r = cairn(t, env, "audit", "app", "--unit-dir", units)
	if r.code != 1 || !strings.Contains(r.stdout, "the last restore drill") {
		t.Errorf("audit after a failed drill: exit %d\n%s", r.code, r.stdout)
	}
}

// strictJSON decodes the one JSON value of out into v, refusing fields v
// does not have.
func strictJSON(out string, v any) error {
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
