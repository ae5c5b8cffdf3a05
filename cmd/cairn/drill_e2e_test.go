//go:build linux

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestDrill(t *testing.T) {
	if _, err := execShell("command -v sqlite3"); err != nil && os.Getenv("CI") != "" {
		t.Fatal("sqlite3 is missing: scripts/deps.sh installs it (make test does)")
	}
	hooks := newHookServer(t)
	cfg, dir := protectedProject(t, hooks, `
[sources.app-db.drill]
verify = ["sqlite3 {dir}/app.db 'PRAGMA integrity_check' | grep -qx ok", "test $(sqlite3 {dir}/app.db 'SELECT count(*) FROM events') -gt 0"]
`)
	_, stop := sqliteWriter(t, filepath.Join(dir, "srv", "app", "data", "app.db"))
	env := []string{"CAIRN_CONFIG=" + cfg}
	mustRun(t, env, "run", "--all")
	stop()

	// The project tree from the offsite copy (the default drill target).
	var rec struct {
		Source, Target, Snapshot string
		Files, Bytes             uint64
		Pass                     bool
		WithinRTO                bool `json:"within_rto"`
		Verify                   []struct{ OK bool }
		Reasons                  []string
		FailedFiles              []string `json:"failed_files"`
	}
	scratch := t.TempDir()
	out := mustRun(t, env, "drill", "app", "--json", "--scratch", scratch)
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatal(err)
	}
	if !rec.Pass || rec.Target != "offsite" || rec.Files != 31 || !rec.WithinRTO {
		t.Errorf("drill app: %+v", rec)
	}
	if left, _ := os.ReadDir(scratch); len(left) != 0 {
		t.Errorf("the scratch folder was not removed")
	}
	// The database, with integrity-check and row-count verify commands.
	rec.Verify = nil
	out = mustRun(t, env, "drill", "app-db", "--json")
	json.Unmarshal([]byte(out), &rec)
	if !rec.Pass || len(rec.Verify) != 2 || !rec.Verify[0].OK || !rec.Verify[1].OK {
		t.Errorf("drill app-db: %s", out)
	}
	// A sample drill extrapolates.
	out = mustRun(t, env, "drill", "app", "--sample", "50KiB", "--json")
	var sample map[string]any
	json.Unmarshal([]byte(out), &sample)
	if sample["sample"] != true || sample["files"].(float64) >= 31 || sample["estimated_duration_seconds"].(float64) < sample["duration_seconds"].(float64) {
		t.Errorf("sample drill: %s", out)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "drills", "--json")), &list); err != nil || len(list) != 3 {
		t.Errorf("drills: %d records (%v), want 3", len(list), err)
	}
	if table := mustRun(t, env, "drills"); !strings.Contains(table, "3 drills") || !strings.Contains(table, "app-db") {
		t.Errorf("drills table:\n%s", table)
	}

	// Damage the local repository's data: a drill from it fails and names
	// the files it could not restore.
	damagePacks(t, filepath.Join(dir, "repo"))
	r := cairn(t, env, "drill", "app", "--target", "local", "--json")
	json.Unmarshal([]byte(r.stdout), &rec)
	if r.code != 1 || rec.Pass || len(rec.FailedFiles) == 0 || !strings.Contains(strings.Join(rec.Reasons, " "), "could not be restored") {
		t.Errorf("drill of a damaged repository: exit %d, %s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "the drill failed") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if ev := hooks.got("failure", "app"); ev == nil || !strings.Contains(ev["message"].(string), "drill") {
		t.Errorf("no failure notification for the drill: %v", ev)
	}
}

// damagePacks flips a byte in the middle of every pack over 64 KiB: the
// data packs (tree packs are far smaller).
func damagePacks(t *testing.T, repoDir string) {
	t.Helper()
	n := 0
	filepath.Walk(filepath.Join(repoDir, "data"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && fi.Size() > 64<<10 {
			os.Chmod(p, 0o600)
			data, _ := os.ReadFile(p)
			data[len(data)/2] ^= 0x40
			os.WriteFile(p, data, 0o600)
			n++
		}
		return nil
	})
	if n == 0 {
		t.Fatal("no packs to damage")
	}
}

// TestDrillSampleOfManySmallFiles: a sample drill of a source of 25,000
// small files with long paths restores them all (the sample used to go
// on the restore's command line, one --include per file, and overflowed
// it: "argument list too long").
func TestDrillSampleOfManySmallFiles(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "srv", strings.Repeat("a-long-folder-name-", 5))
	for i := range 25000 {
		d := filepath.Join(src, "d"+string(rune('a'+i%26)))
		if i < 26 {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(d, "a-small-file-with-a-long-name-"+strings.Repeat("x", 20)+string(rune('0'+i%10))+"-"+itoa(i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put(t, filepath.Join(dir, "pw"), "pw\n")
	cfg := filepath.Join(dir, "cairn.toml")
	put(t, cfg, `state-dir = "state"
[repositories.local]
url = "repo"
password-file = "pw"
[sources.many]
paths = ["`+src+`"]
targets = ["local"]
`)
	mustRun(t, []string{"CAIRN_PASSWORD_FILE=" + filepath.Join(dir, "pw")}, "-r", filepath.Join(dir, "repo"), "init")
	env := []string{"CAIRN_CONFIG=" + cfg}
	mustRun(t, env, "run", "many")
	var rec struct {
		Pass   bool
		Sample bool
		Files  uint64
	}
	out := mustRun(t, env, "drill", "many", "--sample", "1MiB", "--json")
	if err := json.Unmarshal([]byte(out), &rec); err != nil || !rec.Pass || !rec.Sample || rec.Files != 25000 {
		t.Errorf("sample drill of 25,000 files: %v %+v\n%s", err, rec, out)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
