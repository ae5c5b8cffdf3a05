//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/console"
	"github.com/chromedp/chromedp"
)

// hostConfig writes the configuration of a host of the fleet: one source
// backed up once into its own repository, with its own password, and
// extra [console] settings.
func hostConfig(t *testing.T, host, consoleKeys string) string {
	t.Helper()
	dir := t.TempDir()
	put(t, filepath.Join(dir, "pw"), host+" password\n")
	put(t, filepath.Join(dir, "srv", host, "index.html"), "<h1>"+host+"</h1>\n")
	cfg := filepath.Join(dir, "cairn.toml")
	put(t, cfg, fmt.Sprintf(`host = %q
state-dir = "state"
[console]
%s
[repositories.local]
url = "repo"
password-file = "pw"
[sources.site-%s]
paths = [%q]
targets = ["local"]
`, host, consoleKeys, host, filepath.Join(dir, "srv", host)))
	mustRun(t, []string{"CAIRN_PASSWORD_FILE=" + filepath.Join(dir, "pw")}, "-r", filepath.Join(dir, "repo"), "init")
	mustRun(t, []string{"CAIRN_CONFIG=" + cfg}, "run", "--all")
	return cfg
}

// startDaemon runs cairn daemon with cfg and returns once it says it
// reports to the fleet's console.
func startDaemon(t *testing.T, cfg string) {
	t.Helper()
	cmd := exec.Command(cairnBin, "--config", cfg, "daemon")
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	startUntil(t, cmd, "reporting to the fleet's console")
}

// TestFleetOfDaemons: two hosts' daemons, each with its own repository,
// password and configuration, report to one console (cairn serve with a
// fleet token); the console's Fleet page shows its own host and both
// others with their sources. The reports carry no password. The page fits
// 375, 1280 and 1920 pixels in Chromium.
func TestFleetOfDaemons(t *testing.T) {
	browser := chromium(t)
	central := hostConfig(t, "central", `fleet-token-file = "fleet-token"`)
	tokenFile := filepath.Join(t.TempDir(), "console-token")
	_, base := startServe(t, central, tokenFile)
	fleetToken := strings.TrimSpace(mustReadFile(t, filepath.Join(filepath.Dir(central), "fleet-token")))
	for _, host := range []string{"web1", "web2"} {
		dir := t.TempDir()
		put(t, filepath.Join(dir, "fleet-token"), fleetToken+"\n")
		cfg := hostConfig(t, host, fmt.Sprintf("report-to = %q\nreport-token-file = %q\nreport-every = \"1s\"", base, filepath.Join(dir, "fleet-token")))
		startDaemon(t, cfg)
	}
	token := strings.TrimSpace(mustReadFile(t, tokenFile))
	var fleet console.Fleet
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, base+"api/fleet", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err := json.Unmarshal(body, &fleet); err != nil {
			t.Fatalf("fleet: %d %s", resp.StatusCode, body)
		}
		if len(fleet.Hosts) == 3 {
			if strings.Contains(string(body), "password") {
				t.Errorf("a fleet report carries a password:\n%s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the fleet never showed both daemons: %s", body)
		}
		time.Sleep(100 * time.Millisecond) // polling the console's state, not standing in for an event
	}
	for i, want := range []string{"central", "web1", "web2"} {
		h := fleet.Hosts[i]
		if h.Host != want || len(h.Sources) != 1 || h.Sources[0].Source != "site-"+want || h.Sources[0].LastBackup.IsZero() || h.Stale {
			t.Errorf("fleet host %d: %+v, want %s with its backed-up source", i, h, want)
		}
	}

	ctx := consoleBrowser(t, browser, base, token)
	shots := screenshotDir(t)
	for _, width := range []int64{375, 1280, 1920} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(base+"fleet"),
			chromedp.WaitVisible(chromedp.ID("host-web2"))); err != nil {
			t.Fatalf("fleet page at %d px: %v", width, err)
		}
		for _, check := range []struct{ what, js string }{{"elements wider than the viewport", overflowJS}, {"broken mid-word", brokenWordsJS}} {
			got, err := chromedp.Run(ctx, chromedp.Evaluate[string](check.js))
			if err != nil {
				t.Fatal(err)
			}
			if got != "" {
				t.Errorf("fleet page at %d px: %s: %s", width, check.what, got)
			}
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		writeShot(t, filepath.Join(shots, fmt.Sprintf("console-fleet-%d.png", width)), shot)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"central", "(this console)", "site-web1", "site-web2"} {
		if !strings.Contains(text, want) {
			t.Errorf("the fleet page does not show %q", want)
		}
	}
}
