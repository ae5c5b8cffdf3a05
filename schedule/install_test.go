package schedule

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/routine"
)

// The crontab and timers cairn installed are recognised per job, and
// Status reports each job's next run and last run from the state.
func TestInstalledAndStatus(t *testing.T) {
	cfg := testConfig(t, "http://127.0.0.1:1/unused")
	jobs := Jobs(cfg)
	crontab := filepath.Join(t.TempDir(), "crontab")
	if err := EditCrontab(crontab, func(old string) string {
		return MergeCrontab(old, CrontabLines(jobs[:1], "/usr/bin/cairn", "/etc/cairn.toml", "/var/log"))
	}); err != nil {
		t.Fatal(err)
	}
	got := InstalledInCrontab(jobs, ReadCrontab(crontab))
	if len(got) != 1 || !got[jobs[0].Unit] {
		t.Errorf("installed in the crontab: %v, want only %s", got, jobs[0].Unit)
	}
	dir := t.TempDir()
	if _, err := WriteUnits(dir, jobs, "/usr/bin/cairn", "/etc/cairn.toml"); err != nil {
		t.Fatal(err)
	}
	timers := InstalledTimers(dir)
	for _, j := range jobs {
		if !timers[j.Unit] {
			t.Errorf("%s not found among the written timers %v", j.Unit, timers)
		}
	}
	store := routine.StateStore{Dir: cfg.StateDir}
	last := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if err := store.Save("hourly", &routine.State{LastRun: last, LastStatus: "ok"}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 20, 0, 0, time.UTC)
	for _, js := range Status(cfg, timers, store, now) {
		if js.Source == "hourly" && (!js.LastRun.Equal(last) || js.LastStatus != "ok" || !js.Next.After(now) || js.Next.Sub(now) > time.Hour) {
			t.Errorf("hourly status %+v", js)
		}
		if !js.Installed || !strings.HasPrefix(js.Unit, "cairn-") {
			t.Errorf("status %+v", js)
		}
	}
}

// Install writes verified units (or a crontab block) and Remove takes
// them away again, leaving nothing of cairn's behind.
func TestInstallAndRemove(t *testing.T) {
	cfg := testConfig(t, "http://127.0.0.1:1/unused")
	p := Place{UnitDir: t.TempDir(), NoEnable: true}
	exe, err := os.Executable() // systemd-analyze, where present, wants the command to exist
	if err != nil {
		t.Fatal(err)
	}
	inst, err := Install(cfg, p, exe, "/etc/cairn.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(inst.Timers) != len(Jobs(cfg)) || inst.Dir != p.UnitDir {
		t.Errorf("installed %+v, want a timer per job in %s", inst, p.UnitDir)
	}
	if got := InstalledJobs(cfg, p); len(got) != len(Jobs(cfg)) {
		t.Errorf("installed jobs %v", got)
	}
	_, units, err := Remove(p, func(err error) { t.Errorf("warned: %v", err) })
	if err != nil || len(units) != 2*len(inst.Timers) {
		t.Fatalf("removed %v, %v; want a service and a timer per job", units, err)
	}
	if left, _ := InstalledUnits(p.UnitDir); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}

	cron := Place{Cron: true, CrontabFile: filepath.Join(t.TempDir(), "crontab")}
	if err := EditCrontab(cron.CrontabFile, func(string) string { return "0 1 * * * /usr/bin/other\n" }); err != nil {
		t.Fatal(err)
	}
	if inst, err := Install(cfg, cron, "/usr/bin/cairn", "/etc/cairn.toml"); err != nil || inst.Jobs != len(Jobs(cfg)) {
		t.Fatalf("cron install: %+v, %v", inst, err)
	}
	if got := InstalledJobs(cfg, cron); len(got) != len(Jobs(cfg)) {
		t.Errorf("crontab jobs %v", got)
	}
	if _, _, err := Remove(cron, nil); err != nil {
		t.Fatal(err)
	}
	if text := ReadCrontab(cron.CrontabFile); text != "0 1 * * * /usr/bin/other\n" {
		t.Errorf("crontab after remove: %q; want the user's own line only", text)
	}
}

// A drill's line of schedule status says how the last drill went (it was
// blank for a drill that passed).
func TestStatusOfDrill(t *testing.T) {
	c, err := config.Parse("test.toml", []byte(`[repositories.r]
url = "/tmp/unused"
[sources.app]
paths = ["/data"]
targets = ["r"]
schedule = "0 * * * *"
[sources.app.drill]
schedule = "0 3 * * 0"
`))
	if err != nil {
		t.Fatal(err)
	}
	c.StateDir = t.TempDir()
	store := routine.StateStore{Dir: c.StateDir}
	drilled := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	if err := store.Save("app", &routine.State{LastRun: drilled.Add(time.Hour), LastStatus: "ok", LastDrill: drilled, LastDrillStatus: "pass"}); err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, js := range Status(c, nil, store, drilled.Add(2*time.Hour)) {
		if js.What == "restore drill" {
			seen = true
			if !js.LastRun.Equal(drilled) || js.LastStatus != "pass" {
				t.Errorf("drill status %+v, want its last drill and pass", js)
			}
		}
	}
	if !seen {
		t.Fatal("no drill job in the status")
	}
}
