//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromium returns the path of a headless-capable Chromium, or ends the
// test (a failure in CI, where scripts/deps.sh installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium: scripts/deps.sh installs Debian's chromium")
	}
	t.Skip("no Chromium on this machine (scripts/deps.sh installs it)")
	return ""
}

// TestConsoleInChromium drives the console in a real headless Chromium:
// a request without the token is refused; log in; the overview shows two
// sources, db past its RPO and marked so; browse a snapshot and download
// a file through its link, comparing its bytes; start a drill and see it
// pass. Screenshots of the overview and the browser go to the test's
// output folder (and to $CAIRN_SCREENSHOTS when set).
func TestConsoleInChromium(t *testing.T) {
	browser := chromium(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "srv", "app")
	put(t, filepath.Join(src, "docs", "report.txt"), "quarterly numbers: 42\n")
	put(t, filepath.Join(src, "README"), "the app\n")
	put(t, filepath.Join(dir, "pw"), "console password\n")
	cfg := filepath.Join(dir, "cairn.toml")
	put(t, cfg, `state-dir = "`+filepath.Join(dir, "state")+`"
[repositories.local]
url = "`+filepath.Join(dir, "repo")+`"
password-file = "pw"
[sources.app]
paths = ["`+src+`"]
tier = "critical"
rpo = "1h"
rto = "4h"
targets = ["local"]
[sources.db]
paths = ["`+filepath.Join(dir, "srv", "db")+`"]
tier = "important"
rpo = "1h"
targets = ["local"]
`)
	put(t, filepath.Join(dir, "srv", "db", "data"), "db\n")
	put(t, filepath.Join(dir, "state", "db.json"), `{"last_run":"2026-01-02T03:04:05Z","last_status":"ok","last_success":"2026-01-02T03:04:05Z"}`)
	mustRun(t, []string{"CAIRN_PASSWORD_FILE=" + filepath.Join(dir, "pw")}, "-r", filepath.Join(dir, "repo"), "init")
	env := []string{"CAIRN_CONFIG=" + cfg}
	mustRun(t, env, "run", "app")
	if st := mustReadFile(t, filepath.Join(dir, "state", "app.json")); !strings.Contains(st, `"history"`) || !strings.Contains(st, `"backup_seconds"`) {
		t.Errorf("the run recorded no history point:\n%s", st)
	}

	tokenFile := filepath.Join(dir, "token")
	_, base := startServe(t, cfg, tokenFile)
	token := strings.TrimSpace(mustReadFile(t, tokenFile))

	// Without the token: refused.
	resp, err := http.Get(base + "api/overview")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API without the token: %d", resp.StatusCode)
	}

	ctx := consoleBrowser(t, browser, base, token)
	shots := screenshotDir(t)
	dbText, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("source-db")))
	if err != nil {
		t.Fatal(err)
	}
	appText, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("source-app")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dbText, "RPO MISSED") || !strings.Contains(dbText, "no-go") {
		t.Errorf("db row: %q", dbText)
	}
	if !strings.Contains(appText, "within RPO") {
		t.Errorf("app row: %q", appText)
	}
	overview, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	writeShot(t, filepath.Join(shots, "console-overview.png"), overview)

	// Browse the snapshot and download a file through its link.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"snapshots?target=local"),
		chromedp.WaitVisible(chromedp.ID("snapshots")),
		chromedp.Click(chromedp.CSS("#snapshots tbody a")),
		chromedp.WaitVisible(chromedp.ID("entries")),
	); err != nil {
		t.Fatalf("snapshots: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("path", src+"/docs")
	u.RawQuery = q.Encode()
	if err := chromedp.Do(ctx, chromedp.Navigate(u.String()), chromedp.WaitVisible(chromedp.CSS("a.file"))); err != nil {
		t.Fatalf("browse: %v", err)
	}
	browse, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	writeShot(t, filepath.Join(shots, "console-browse.png"), browse)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.querySelector("a.file[href*='report.txt']").href).then(r => r.text())`,
		func(p *cdpruntime.EvaluateParams) { yes := true; p.AwaitPromise = &yes }))
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	if got != "quarterly numbers: 42\n" {
		t.Errorf("downloaded %q", got)
	}

	// Start a drill and see it pass.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.ID("drill-app")),
		chromedp.Click(chromedp.ID("drill-app")),
		chromedp.WaitVisible(chromedp.CSS("#outcome[data-done]")),
	); err != nil {
		t.Fatalf("drill: %v", err)
	}
	outcome, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("outcome")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(outcome, "done: drill PASS") {
		t.Errorf("drill outcome %q", outcome)
	}

	// Every page fits a phone, a laptop and a wide screen: no element
	// reaches past the viewport's right edge, source names and "no-go" are
	// never broken mid-word, the browse page names the snapshot by its
	// time and host, and the audit is a page, not raw markdown.
	browseURL := u.String()
	for _, width := range []int64{375, 1280, 1920} {
		for _, page := range []struct{ name, url, ready string }{
			{"overview", base, "#overview"},
			{"audit", base + "audit", "#audit-summary"},
			{"browse", browseURL, "#entries"},
			{"history", base + "history?source=app", "#timeline tr.event-run"},
		} {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(page.url),
				chromedp.WaitVisible(chromedp.CSS(page.ready))); err != nil {
				t.Fatalf("%s at %d px: %v", page.name, width, err)
			}
			over, err := chromedp.Run(ctx, chromedp.Evaluate[string](overflowJS))
			if err != nil {
				t.Fatal(err)
			}
			if over != "" {
				t.Errorf("%s at %d px: elements wider than the viewport: %s", page.name, width, over)
			}
			broken, err := chromedp.Run(ctx, chromedp.Evaluate[string](brokenWordsJS))
			if err != nil {
				t.Fatal(err)
			}
			if broken != "" {
				t.Errorf("%s at %d px: broken mid-word: %s", page.name, width, broken)
			}
			shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			writeShot(t, filepath.Join(shots, fmt.Sprintf("console-%s-%d.png", page.name, width)), shot)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(browseURL), chromedp.WaitVisible(chromedp.ID("snapshot-name"))); err != nil {
		t.Fatal(err)
	}
	name, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("snapshot-name")))
	if err != nil {
		t.Fatal(err)
	}
	if host, _ := os.Hostname(); !strings.Contains(name, host) || !strings.Contains(name, src) || strings.Contains(name, "snapshot "+strings.Repeat("0", 64)) {
		t.Errorf("the browse page names the snapshot %q, want its time, host %s and paths", name, host)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"audit"), chromedp.WaitVisible(chromedp.CSS("section#audit-app table.qa"))); err != nil {
		t.Errorf("the audit page has no table for app: %v", err)
	}
	t.Logf("screenshots in %s", shots)
}

// overflowJS names the visible elements whose right edge is past the
// viewport's, or "" when none is.
const overflowJS = `(() => {
  const w = document.documentElement.clientWidth, bad = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && r.right > w + 1) bad.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " to " + Math.round(r.right) + "px");
  }
  return bad.slice(0, 8).join(", ");
})()`

// brokenWordsJS names the source names and verdicts laid out on more
// than one line.
const brokenWordsJS = `(() => {
  const bad = [];
  for (const el of document.querySelectorAll(".source-name, summary, .nowrap")) {
    const lines = new Set([...el.getClientRects()].map(r => Math.round(r.top)));
    if (lines.size > 1) bad.push(el.textContent.trim());
  }
  return bad.join(", ");
})()`

// consoleBrowser starts a headless Chromium (1400 by 900), logs in to the
// console at base with token, and returns the browser's context once the
// overview shows; the test's end closes it.
func consoleBrowser(t *testing.T, browser, base, token string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.Flag("headless", true), chromedp.WindowSize(1400, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate(base), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("overview"))); err != nil {
		t.Fatalf("log in: %v", err)
	}
	return ctx
}

// screenshotDir is where a test writes its screenshots: $CAIRN_SCREENSHOTS
// when set, else a folder of the test's.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("CAIRN_SCREENSHOTS"); d != "" {
		return d
	}
	return t.TempDir()
}

func writeShot(t *testing.T, name string, png []byte) {
	t.Helper()
	if len(png) < 1000 {
		t.Errorf("screenshot %s is empty", name)
		return
	}
	if err := os.WriteFile(name, png, 0o644); err != nil {
		t.Error(err)
	}
}

// TestActionProgressInChromium: a restore started on the server shows its
// live progress (a bar, files and bytes of the totals) on its action page
// while it runs. The server's pack reads stall after ten, so the restore
// is caught running, without sleeping.
func TestActionProgressInChromium(t *testing.T) {
	browser := chromium(t)
	_, repoDir, src := smallPackRepo(t, 40)
	dir := t.TempDir()
	put(t, filepath.Join(dir, "pw"), "pw\n")
	cfg := filepath.Join(dir, "cairn.toml")
	put(t, cfg, `state-dir = "state"
[repositories.local]
url = "`+repoDir+`"
password-file = "pw"
[sources.app]
paths = ["`+src+`"]
targets = ["local"]
`)
	tokenFile := filepath.Join(dir, "token")
	_, base := startServe(t, cfg, tokenFile, stallEnv+"=10")
	token := strings.TrimSpace(mustReadFile(t, tokenFile))
	req, _ := http.NewRequest(http.MethodPost, base+"api/restore",
		strings.NewReader(`{"target":"local","snapshot":"latest","path":"`+src+`","dest":"`+t.TempDir()+`"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var started struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start the restore: %d", resp.StatusCode)
	}

	ctx := consoleBrowser(t, browser, base, token)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"actions/"+started.ID), chromedp.WaitVisible(chromedp.ID("progress-bar"))); err != nil {
		t.Fatalf("the action page shows no progress: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("progress-text")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "of 40 files") || !strings.Contains(text, "%") {
		t.Errorf("progress text %q, want the files done of 40 and a percentage", text)
	}
	outcome, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("outcome")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(outcome, "running") {
		t.Errorf("the restore was not caught running: %q", outcome)
	}
}
