//go:build linux

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend/s3/s3test"
	_ "modernc.org/sqlite"
)

// hookServer records webhook events and pings.
type hookServer struct {
	mu     sync.Mutex
	events []map[string]any
	pings  []string
	*httptest.Server
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/ping") {
			h.pings = append(h.pings, r.URL.Path)
			return
		}
		var ev map[string]any
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("webhook body is not JSON: %q", body)
		}
		h.events = append(h.events, ev)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) got(event, source string) map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.events {
		if e["event"] == event && e["source"] == source {
			return e
		}
	}
	return nil
}

// sqliteWriter keeps inserting rows into a WAL-mode database until stopped.
func sqliteWriter(t *testing.T, file string) (rows func() int, stop func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ctx.Err() == nil; i++ {
			if _, err := db.Exec("INSERT INTO events (body) VALUES (?)", strings.Repeat(fmt.Sprint(i), 50)); err == nil {
				n.Add(1)
			}
		}
	}()
	for n.Load() < 100 {
		time.Sleep(time.Millisecond)
	}
	return func() int { return int(n.Load()) }, func() { cancel(); <-done; db.Close() }
}

func countRows(t *testing.T, file string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ok string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("restored database: integrity_check %q, %v", ok, err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// protectedProject writes the sample setup of examples/cairn.toml into a
// temporary folder: a project tree, a live SQLite database, a local
// repository and a MinIO one, password and credentials files, and the
// configuration. It returns the configuration file and the folder.
func protectedProject(t *testing.T, hooks *hookServer, extra string) (cfg, dir string) {
	t.Helper()
	dir = t.TempDir()
	project := filepath.Join(dir, "srv", "app")
	writeTree(t, filepath.Join(project, "src"), 30, 20<<10, 7)
	put(t, filepath.Join(project, "README"), "the app\n")
	put(t, filepath.Join(project, ".git", "HEAD"), "ref: refs/heads/main\n")
	put(t, filepath.Join(project, "node_modules", "x", "index.js"), "module.exports = 1\n")
	if err := os.MkdirAll(filepath.Join(project, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	endpoint, ak, sk := s3test.Server(t)
	put(t, filepath.Join(dir, "pw-local"), "local password\n")
	put(t, filepath.Join(dir, "pw-offsite"), "offsite password\n")
	put(t, filepath.Join(dir, "minio.env"), "AWS_ACCESS_KEY_ID="+ak+"\nAWS_SECRET_ACCESS_KEY="+sk+"\n")
	offsite := "s3:http://" + endpoint + "/" + s3test.BucketName() + "/app"
	mustRun(t, []string{"CAIRN_PASSWORD_FILE=" + filepath.Join(dir, "pw-local")}, "-r", filepath.Join(dir, "repo"), "init")
	// The offsite copy is object-locked in compliance mode: the audit's
	// "go" needs an offsite copy the backed-up machine cannot destroy, and
	// these are the bucket owner's credentials, which bypass governance.
	mustRun(t, append(s3test.Env(t), "CAIRN_PASSWORD_FILE="+filepath.Join(dir, "pw-offsite")), "-r", offsite, "init",
		"--retention-mode", "compliance", "--retention-period", "1d")
	config := fmt.Sprintf(`state-dir = %[1]q
metrics-file = %[13]q

[repositories.local]
url = %[2]q
password-file = %[3]q

[repositories.offsite]
url = %[4]q
password-file = %[5]q
s3-credentials-file = %[6]q
quota = "1GiB"

[notify]
webhook = %[7]q
ping = %[8]q
on = ["failure", "success", "check-failed", "storage-full"]

[sources.app]
paths = [%[9]q]
exclude = ["/**/data/app.db*"]
exclude-presets = ["dev"]
tier = "critical"
rpo = "1h"
targets = ["local", "offsite"]
schedule = "0 * * * *"
[sources.app.retention]
keep-daily = 7
keep-weekly = 4
keep-monthly = 6
[sources.app.hooks]
after-success = ["touch %[10]s/after-success"]
finally = ["env > %[10]s/hook-env"]

[sources.app-db]
paths = ["sqlite:%[11]s"]
tier = "critical"
rpo = "1h"
targets = ["local", "offsite"]
schedule = "15 * * * *"
[sources.app-db.retention]
keep-daily = 7
keep-weekly = 4
keep-monthly = 6
%[12]s`, filepath.Join(dir, "state"), filepath.Join(dir, "repo"),
		filepath.Join(dir, "pw-local"), offsite, filepath.Join(dir, "pw-offsite"), filepath.Join(dir, "minio.env"),
		hooks.URL+"/hook/secret-token", hooks.URL+"/ping/uuid", project, dir, filepath.Join(project, "data", "app.db"), extra,
		filepath.Join(dir, "state", "cairn.prom"))
	cfg = filepath.Join(dir, "cairn.toml")
	put(t, cfg, config)
	return cfg, dir
}

type runReport struct {
	Source     string `json:"source"`
	Status     string `json:"status"`
	SnapshotID string `json:"snapshot_id"`
	Steps      []struct {
		Name, Status, Message string
	} `json:"steps"`
}

func runReports(t *testing.T, out string) map[string]runReport {
	t.Helper()
	reps := map[string]runReport{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r runReport
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("run --json line %q: %v", line, err)
		}
		reps[r.Source] = r
	}
	return reps
}

func (r runReport) step(name string) string {
	for _, s := range r.Steps {
		if s.Name == name {
			return s.Status
		}
	}
	return "absent"
}

func TestRunAllEndToEnd(t *testing.T) {
	hooks := newHookServer(t)
	cfg, dir := protectedProject(t, hooks, "")
	db := filepath.Join(dir, "srv", "app", "data", "app.db")
	rows, stop := sqliteWriter(t, db)
	before := rows()
	env := []string{"CAIRN_CONFIG=" + cfg}
	mustRun(t, env, "config", "check")

	r := cairn(t, env, "run", "--all", "--json")
	stop()
	if r.code != 0 {
		t.Fatalf("run --all: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	reps := runReports(t, r.stdout)
	t.Logf("run --all:\n%s", r.stderr)
	for _, src := range []string{"app", "app-db"} {
		rep := reps[src]
		if rep.Status != "ok" {
			t.Errorf("%s: status %q: %+v", src, rep.Status, rep.Steps)
		}
		for _, step := range []string{"backup local", "copy offsite", "verify local", "verify offsite",
			"forget local", "prune local", "forget offsite", "prune offsite", "check local", "check offsite", "storage offsite"} {
			if got := rep.step(step); got != "ok" {
				t.Errorf("%s: step %q: %s", src, step, got)
			}
		}
		if hooks.got("success", src) == nil {
			t.Errorf("no success webhook for %s", src)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "after-success")); err != nil {
		t.Errorf("after-success hook did not run: %v", err)
	}
	hookEnv, _ := os.ReadFile(filepath.Join(dir, "hook-env"))
	for _, want := range []string{"CAIRN_SOURCE=app", "CAIRN_STATUS=ok", "CAIRN_SNAPSHOT_ID=" + reps["app"].SnapshotID} {
		if !strings.Contains(string(hookEnv), want) {
			t.Errorf("hook environment lacks %s", want)
		}
	}
	_, _, sk := s3test.Server(t)
	for what, text := range map[string]string{"run output": r.stdout + r.stderr, "hook environment": string(hookEnv),
		"config show": mustRun(t, env, "config", "show") + mustRun(t, env, "config", "show", "--json")} {
		for _, secret := range []string{sk, "local password", "offsite password", "secret-token"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows a secret (%q)", what, secret[:4])
			}
		}
	}
	hooks.mu.Lock()
	pings := strings.Join(hooks.pings, " ")
	hooks.mu.Unlock()
	if !strings.Contains(pings, "/ping/uuid/start") || !strings.Contains(pings, "/ping/uuid ") && !strings.HasSuffix(pings, "/ping/uuid") {
		t.Errorf("pings: %s; want start and success", pings)
	}
	prom, err := os.ReadFile(filepath.Join(dir, "state", "cairn.prom"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`cairn_last_success_timestamp_seconds{source="app"}`, `cairn_backup_data_added_bytes{source="app-db"}`,
		`cairn_repository_size_bytes{repository="offsite"}`, `cairn_check_success{repository="local",source="app"} 1`} {
		if !strings.Contains(string(prom), want) {
			t.Errorf("metrics file lacks %s:\n%s", want, prom)
		}
	}

	// Restore both sources from the offsite copy alone.
	offsite := offsiteEnv(t, dir, cfg)
	target := t.TempDir()
	mustRun(t, offsite, "restore", "latest", "--tag", "source=app", "--target", target, "--verify")
	project := filepath.Join(dir, "srv", "app")
	restored := filepath.Join(target, project)
	if _, err := os.Stat(filepath.Join(restored, ".git")); err == nil {
		t.Errorf(".git was backed up despite the dev preset")
	}
	for _, f := range []string{"README", "src/d0/f000"} {
		a, _ := os.ReadFile(filepath.Join(project, f))
		b, err := os.ReadFile(filepath.Join(restored, f))
		if err != nil || string(a) != string(b) {
			t.Errorf("%s differs after restore from the copy: %v", f, err)
		}
	}
	dbTarget := t.TempDir()
	mustRun(t, offsite, "restore", "latest", "--tag", "source=app-db", "--target", dbTarget)
	var dump string
	filepath.Walk(dbTarget, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Name() == "app.db" {
			dump = p
		}
		return nil
	})
	if dump == "" {
		t.Fatal("no app.db in the restored database snapshot")
	}
	if n := countRows(t, dump); n < before || n > rows() {
		t.Errorf("restored database has %d rows; the writer had %d at the start and %d at the end", n, before, rows())
	}

	// A second run: retention and checks are not due again the same day.
	r = cairn(t, env, "run", "app", "--json")
	if r.code != 0 {
		t.Fatalf("second run: exit %d: %s", r.code, r.stderr)
	}
	rep := runReports(t, r.stdout)["app"]
	if rep.step("prune local") != "absent" || rep.step("check local") != "absent" || rep.step("backup local") != "ok" {
		t.Errorf("second run steps: %+v", rep.Steps)
	}
}

// offsiteEnv returns the environment of the offsite repository.
func offsiteEnv(t *testing.T, dir, cfg string) []string {
	t.Helper()
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var url string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "url = \"s3:") {
			url = strings.Trim(strings.TrimPrefix(line, "url = "), `"`)
		}
	}
	return append(s3test.Env(t), "CAIRN_REPOSITORY="+url, "CAIRN_PASSWORD_FILE="+filepath.Join(dir, "pw-offsite"))
}

func TestRunFailuresAndHooks(t *testing.T) {
	hooks := newHookServer(t)
	cfg, dir := protectedProject(t, hooks, `
[sources.broken]
paths = ["/srv/app"]
targets = ["local"]
[sources.broken.hooks]
before = ["exit 7"]
after-failure = ["env > `+"{DIR}"+`/failure-env"]
finally = ["touch `+"{DIR}"+`/finally"]
pass-secrets = false

[sources.dump]
paths = ["command:echo partial; exit 3"]
targets = ["local"]
`)
	b, _ := os.ReadFile(cfg)
	put(t, cfg, strings.ReplaceAll(string(b), "{DIR}", dir))
	env := []string{"CAIRN_CONFIG=" + cfg, "CAIRN_PASSWORD=must-not-leak", "AWS_SECRET_ACCESS_KEY=must-not-leak-either"}
	r := cairn(t, env, "run", "broken", "dump", "--json")
	if r.code != 1 {
		t.Fatalf("run: exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	reps := runReports(t, r.stdout)
	if got := reps["broken"]; got.Status != "failed" || got.step("hook before") != "failed" || got.step("backup local") != "absent" {
		t.Errorf("broken: a failing before hook must abort the run: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "finally")); err != nil {
		t.Errorf("finally hook did not run after a failure")
	}
	failEnv, _ := os.ReadFile(filepath.Join(dir, "failure-env"))
	if !strings.Contains(string(failEnv), "CAIRN_STATUS=failed") || !strings.Contains(string(failEnv), "CAIRN_ERROR=hook before") {
		t.Errorf("after-failure hook environment lacks the status and error")
	}
	if strings.Contains(string(failEnv), "must-not-leak") {
		t.Errorf("a hook received a secret from the environment")
	}
	if ev := hooks.got("failure", "broken"); ev == nil || !strings.Contains(fmt.Sprint(ev["message"]), "exited 7") {
		t.Errorf("failure webhook: %v", ev)
	}
	// A dump command that fails makes no snapshot, and the run says so;
	// the other source in the same run still ran.
	if got := reps["dump"]; got.Status != "failed" || got.step("backup local") != "failed" || got.SnapshotID != "" {
		t.Errorf("dump: %+v", got)
	}
	local := []string{"CAIRN_REPOSITORY=" + filepath.Join(dir, "repo"), "CAIRN_PASSWORD_FILE=" + filepath.Join(dir, "pw-local")}
	if out := mustRun(t, local, "snapshots", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("failed runs left snapshots: %s", out)
	}
	var ps struct{ Pings []string }
	hooks.mu.Lock()
	ps.Pings = hooks.pings
	hooks.mu.Unlock()
	if !strings.Contains(strings.Join(ps.Pings, " "), "/ping/uuid/fail") {
		t.Errorf("no fail ping: %v", ps.Pings)
	}
	// A bad configuration: every problem, each with its line, exit 1.
	bad := filepath.Join(t.TempDir(), "bad.toml")
	put(t, bad, "[repositories.r]\nurl = \"/x\"\npassword = \"p\"\n[sources.s]\npaths = []\ntargets = [\"nope\"]\n")
	r = cairn(t, []string{"CAIRN_CONFIG=" + bad}, "config", "check")
	if r.code != 1 || !strings.Contains(r.stderr, "bad.toml:3:") || !strings.Contains(r.stderr, "bad.toml:6:") {
		t.Errorf("config check of a bad file: exit %d\n%s", r.code, r.stderr)
	}
}

func TestPostgresDumpSource(t *testing.T) {
	host, port, user := os.Getenv("CAIRN_TEST_PG_HOST"), os.Getenv("CAIRN_TEST_PG_PORT"), os.Getenv("CAIRN_TEST_PG_USER")
	if host == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CAIRN_TEST_PG_HOST is unset: run the tests through scripts/postgres.sh (make test does)")
		}
		t.Skip("no PostgreSQL server: run the tests through scripts/postgres.sh (make test does)")
	}
	pg := fmt.Sprintf("-h %s -p %s -U %s", host, port, user)
	sh := func(script string) string {
		t.Helper()
		out, err := execShell(script)
		if err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
		return out
	}
	db := fmt.Sprintf("app_%d", time.Now().UnixNano()%1e9)
	sh(fmt.Sprintf("createdb %s %s", pg, db))
	sh(fmt.Sprintf(`psql -q -v ON_ERROR_STOP=1 %s -d %s -c "CREATE TABLE orders (id serial PRIMARY KEY, item text, qty int, at timestamptz DEFAULT now()); INSERT INTO orders (item, qty) SELECT 'item ' || g, g %% 17 FROM generate_series(1, 5000) g;"`, pg, db))
	dir := t.TempDir()
	put(t, filepath.Join(dir, "pw"), "pg password\n")
	mustRun(t, []string{"CAIRN_PASSWORD_FILE=" + filepath.Join(dir, "pw")}, "-r", filepath.Join(dir, "repo"), "init")
	cfg := filepath.Join(dir, "cairn.toml")
	put(t, cfg, fmt.Sprintf(`state-dir = %q
[repositories.local]
url = %q
password-file = %q
[sources.pg]
paths = ["command:pg_dump %s %s"]
filename = "app.sql"
targets = ["local"]
`, filepath.Join(dir, "state"), filepath.Join(dir, "repo"), filepath.Join(dir, "pw"), pg, db))
	r := cairn(t, []string{"CAIRN_CONFIG=" + cfg}, "run", "pg")
	if r.code != 0 {
		t.Fatalf("run pg: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	env := []string{"CAIRN_REPOSITORY=" + filepath.Join(dir, "repo"), "CAIRN_PASSWORD_FILE=" + filepath.Join(dir, "pw")}
	dump := filepath.Join(dir, "app.sql")
	out := mustRun(t, env, "dump", "latest", "/app.sql")
	put(t, dump, out)
	restored := db + "_restored"
	sh(fmt.Sprintf("createdb %s %s && psql -q -v ON_ERROR_STOP=1 %s -d %s -f %s", pg, restored, pg, restored, dump))
	query := "SELECT id, item, qty, at FROM orders ORDER BY id"
	a := sh(fmt.Sprintf(`psql -At %s -d %s -c "%s"`, pg, db, query))
	b := sh(fmt.Sprintf(`psql -At %s -d %s -c "%s"`, pg, restored, query))
	if a != b || strings.Count(a, "\n") < 5000 {
		t.Errorf("restored table differs: %d rows against %d", strings.Count(b, "\n"), strings.Count(a, "\n"))
	}
}

func execShell(script string) (string, error) {
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	return string(out), err
}

// TestExampleConfig runs examples/cairn.toml itself, with its paths moved
// into a temporary folder and its offsite URL pointed at the test MinIO.
func TestExampleConfig(t *testing.T) {
	hooks := newHookServer(t)
	_, dir := protectedProject(t, hooks, "")
	example, err := os.ReadFile("../../examples/cairn.toml")
	if err != nil {
		t.Fatal(err)
	}
	endpoint, _, _ := s3test.Server(t)
	offsite := "s3:http://" + endpoint + "/" + s3test.BucketName() + "/app"
	// The offsite copy is object-locked in compliance mode: the audit's
	// "go" needs an offsite copy the backed-up machine cannot destroy, and
	// these are the bucket owner's credentials, which bypass governance.
	mustRun(t, append(s3test.Env(t), "CAIRN_PASSWORD_FILE="+filepath.Join(dir, "pw-offsite")), "-r", offsite, "init",
		"--retention-mode", "compliance", "--retention-period", "1d")
	cfg := strings.NewReplacer(
		"/srv/backup/cairn", filepath.Join(dir, "repo"),
		"/etc/cairn/password-offsite", filepath.Join(dir, "pw-offsite"),
		"/etc/cairn/password", filepath.Join(dir, "pw-local"),
		"/etc/cairn/minio.env", filepath.Join(dir, "minio.env"),
		"s3:http://127.0.0.1:9000/cairn-offsite/app", offsite,
		"/srv/app", filepath.Join(dir, "srv", "app"),
		"https://hooks.example.com/cairn/T0KEN", hooks.URL+"/hook",
		`quota = "200GiB"`, `quota = "1KiB"`,
	).Replace(string(example))
	cfg = "state-dir = " + fmt.Sprintf("%q", filepath.Join(dir, "example-state")) + "\n" + cfg
	file := filepath.Join(dir, "example.toml")
	put(t, file, cfg)
	_, stop := sqliteWriter(t, filepath.Join(dir, "srv", "app", "data", "app.db"))
	r := cairn(t, []string{"CAIRN_CONFIG=" + file}, "run", "--all", "--json")
	stop()
	// Every step passes but the storage warning: the 1KiB quota is full.
	if r.code != 3 {
		t.Fatalf("run --all with the example: exit %d, want 3 (storage warning)\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for src, rep := range runReports(t, r.stdout) {
		for _, s := range rep.Steps {
			if s.Status != "ok" && s.Name != "storage offsite" {
				t.Errorf("%s: step %s: %s: %s", src, s.Name, s.Status, s.Message)
			}
		}
		if rep.step("storage offsite") != "warning" {
			t.Errorf("%s: no storage warning above the quota", src)
		}
		if ev := hooks.got("storage-full", src); ev == nil || !strings.Contains(fmt.Sprint(ev["message"]), "quota") {
			t.Errorf("%s: storage-full webhook: %v", src, ev)
		}
	}
}

func TestRunReportsFailedCheck(t *testing.T) {
	hooks := newHookServer(t)
	cfg, dir := protectedProject(t, hooks, `
[sources.docs]
paths = ["`+"{DIR}"+`/srv/app/src"]
targets = ["local"]
`)
	b, _ := os.ReadFile(cfg)
	put(t, cfg, strings.ReplaceAll(string(b), "{DIR}", dir))
	env := []string{"CAIRN_CONFIG=" + cfg}
	mustRun(t, env, "run", "docs")
	// Damage every pack, and make the next check due.
	filepath.Walk(filepath.Join(dir, "repo", "data"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			os.Chmod(p, 0o600)
			data, _ := os.ReadFile(p)
			data[len(data)/2] ^= 0x40
			os.WriteFile(p, data, 0o600)
		}
		return nil
	})
	os.Remove(filepath.Join(dir, "state", "docs.json"))
	r := cairn(t, env, "run", "docs", "--json")
	rep := runReports(t, r.stdout)["docs"]
	if r.code != 1 || rep.step("check local") != "failed" {
		t.Fatalf("run on a damaged repository: exit %d, steps %+v\n%s", r.code, rep.Steps, r.stderr)
	}
	if ev := hooks.got("check-failed", "docs"); ev == nil || !strings.Contains(fmt.Sprint(ev["message"]), "damaged") {
		t.Errorf("check-failed webhook: %v", ev)
	}
	if ev := hooks.got("failure", "docs"); ev == nil {
		t.Errorf("no failure webhook")
	}
}
