//go:build linux

package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestScheduleInstallRemove(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing: scripts/deps.sh installs it (make test does)")
		}
		t.Skip("systemd-analyze is missing: scripts/deps.sh installs it")
	}
	cfg, dir := appConfig(t, `schedule = "*/30 * * * *"
[sources.app.drill]
schedule = "@weekly"
[sources.manual]
paths = ["/srv/other"]
targets = ["local"]
`)
	env := []string{"CAIRN_CONFIG=" + cfg}
	units := filepath.Join(dir, "units")
	// install verifies the units with systemd-analyze itself.
	mustRun(t, env, "schedule", "install", "--unit-dir", units, "--no-enable")
	var files []string
	for _, n := range []string{"cairn-app.service", "cairn-app.timer", "cairn-drill-app.service", "cairn-drill-app.timer"} {
		files = append(files, filepath.Join(units, n))
	}
	out, err := exec.Command("systemd-analyze", append([]string{"verify"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	timer, _ := os.ReadFile(files[1])
	for _, want := range []string{"OnCalendar=*-*-* *:00,30:00", "Persistent=true", "WantedBy=timers.target"} {
		if !strings.Contains(string(timer), want) {
			t.Errorf("timer lacks %s:\n%s", want, timer)
		}
	}
	service, _ := os.ReadFile(files[0])
	if !strings.Contains(string(service), "ExecStart="+cairnBin+" --config "+cfg+" run app") {
		t.Errorf("service:\n%s", service)
	}
	var status []struct {
		Unit      string
		Installed bool
	}
	if err := json.Unmarshal([]byte(mustRun(t, env, "schedule", "status", "--unit-dir", units, "--json")), &status); err != nil {
		t.Fatal(err)
	}
	if len(status) != 2 || !status[0].Installed || !status[1].Installed {
		t.Errorf("status: %+v", status)
	}
	mustRun(t, env, "schedule", "remove", "--unit-dir", units, "--no-enable")
	if left, _ := os.ReadDir(units); len(left) != 0 {
		t.Errorf("remove left %d files", len(left))
	}

	crontab := filepath.Join(dir, "crontab")
	put(t, crontab, "MAILTO=ops@example.com\n0 5 * * * /usr/local/bin/other-job\n")
	mustRun(t, env, "schedule", "install", "--cron", "--crontab-file", crontab)
	mustRun(t, env, "schedule", "install", "--cron", "--crontab-file", crontab)
	b, _ := os.ReadFile(crontab)
	if strings.Count(string(b), "run app") != 1 || strings.Count(string(b), "drill app") != 1 || !strings.Contains(string(b), "other-job") {
		t.Errorf("crontab after two installs:\n%s", b)
	}
	mustRun(t, env, "schedule", "remove", "--cron", "--crontab-file", crontab)
	if b, _ := os.ReadFile(crontab); string(b) != "MAILTO=ops@example.com\n0 5 * * * /usr/local/bin/other-job\n" {
		t.Errorf("crontab after remove:\n%s", b)
	}
	// A schedule systemd cannot express is refused with the reason.
	put(t, cfg, strings.Replace(mustReadFile(t, cfg), `"*/30 * * * *"`, `"0 0 13 * 5"`, 1))
	r := cairn(t, env, "schedule", "install", "--unit-dir", units, "--no-enable")
	if r.code != 1 || !strings.Contains(r.stderr, "day of the week") {
		t.Errorf("unexpressible schedule: exit %d: %s", r.code, r.stderr)
	}
}

// appConfig writes a configuration with a state folder, a local repository
// and a source "app" whose table ends with rest; it returns the file and
// its folder.
func appConfig(t *testing.T, rest string) (cfg, dir string) {
	t.Helper()
	dir = t.TempDir()
	cfg = filepath.Join(dir, "cairn.toml")
	put(t, cfg, `state-dir = "`+filepath.Join(dir, "state")+`"
[repositories.local]
url = "`+filepath.Join(dir, "repo")+`"
[sources.app]
paths = ["/srv/app"]
targets = ["local"]
`+rest)
	return cfg, dir
}

func mustReadFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDaemonServesMetricsAndStops(t *testing.T) {
	cfg, dir := appConfig(t, `rpo = "2h"
`)
	put(t, filepath.Join(dir, "state", "app.json"), `{"last_run":"2026-01-02T03:04:05Z","last_status":"ok","last_success":"2026-01-02T03:04:05Z","last_data_added":1234}`)
	cmd := exec.Command(cairnBin, "--config", cfg, "daemon", "--listen", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	buf := make([]byte, 4096)
	var addr string
	for got := ""; addr == ""; {
		n, err := stderr.Read(buf)
		if err != nil {
			t.Fatalf("daemon output %q: %v", got, err)
		}
		got += string(buf[:n])
		if i := strings.Index(got, "http://"); i >= 0 && strings.Contains(got[i:], "/metrics") {
			addr = got[i : i+strings.Index(got[i:], "/metrics")+len("/metrics")]
		}
	}
	resp, err := http.Get(addr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`cairn_last_success_timestamp_seconds{source="app"} 1.767323045e+09`,
		`cairn_backup_data_added_bytes{source="app"} 1234`, `cairn_rpo_seconds{source="app"} 7200`, `cairn_rpo_missed{source="app"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
	go io.Copy(io.Discard, stderr)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "130") {
		t.Errorf("daemon after SIGTERM: %v, want exit 130 as serve and every other command", err)
	}
}
