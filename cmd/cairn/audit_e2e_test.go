package main

import (
	"encoding/json"
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
	var audit struct {
		Sources []struct {
			Source, Verdict string
			State           string `json:"compliance_state"`
			Reasons         []string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &audit); err != nil {
		t.Fatalf("audit --json: %v\n%s", err, r.stdout)
	}
	if r.code != 1 || len(audit.Sources) != 2 || audit.Sources[0].Verdict != "no-go" || audit.Sources[0].State != "none" {
		t.Errorf("audit before any backup: exit %d, %+v", r.code, audit)
	}
	// The gate takes the backup itself, but without a drill it says no-go.
	r = cairn(t, env, "gate", "app", "--json")
	var gate map[string]any
	json.Unmarshal([]byte(r.stdout), &gate)
	if r.code != 1 || gate["verdict"] != "no-go" || gate["backup_taken"] != true || !strings.Contains(r.stderr, "no-go: ") ||
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
	json.Unmarshal([]byte(out), &gate)
	if gate["verdict"] != "go" || gate["backup_taken"] != false || gate["data_verified"] != true || gate["tree_hash"] == "" || gate["runbook_sha256"] == "" {
		t.Errorf("gate after run, drill and runbook: %s", out)
	}
	if text := mustRun(t, env, "gate", "app"); !strings.Contains(text, "GO") || !strings.Contains(text, "tree hash") {
		t.Errorf("gate output:\n%s", text)
	}

	book := mustRun(t, env, "runbook", "app-db", "-o", "-")
	for _, want := range []string{"cairn restore latest --tag source=app-db", "PRAGMA integrity_check", "| offsite | copy |", "The last drill"} {
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
	var st []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "status", "--json")), &st); err != nil || len(st) != 2 {
		t.Errorf("status --json: %v", err)
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
