//go:build linux

package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cairn-backup/cairn/console"
)

// TestServeConsole: cairn serve answers the JSON API with the token from
// its token file (written on first start, 0600), refuses requests without
// it, and stops on SIGTERM.
func TestServeConsole(t *testing.T) {
	cfg, dir := appConfig(t, `rpo = "2h"
`)
	put(t, filepath.Join(dir, "state", "app.json"), `{"last_run":"2026-01-02T03:04:05Z","last_status":"ok","last_success":"2026-01-02T03:04:05Z"}`)
	repoEnv := []string{"CAIRN_PASSWORD=console pw", "CAIRN_REPOSITORY=" + filepath.Join(dir, "repo")}
	mustRun(t, repoEnv, "init")
	src := t.TempDir()
	put(t, filepath.Join(src, "docs", "report.txt"), "quarterly numbers\n")
	put(t, filepath.Join(src, "docs", "notes.md"), "# notes\n")
	mustRun(t, repoEnv, "backup", src)
	tokenFile := filepath.Join(dir, "console-token")
	cmd, base := startServe(t, cfg, tokenFile, "CAIRN_PASSWORD=console pw")
	fi, err := os.Stat(tokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	token := strings.TrimSpace(mustReadFile(t, tokenFile))
	resp, err := http.Get(base + "api/overview")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API without the token: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"api/overview", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var o console.Overview
	err = json.NewDecoder(resp.Body).Decode(&o)
	resp.Body.Close()
	if err != nil || len(o.Sources) != 1 || o.Sources[0].Source != "app" || !o.Sources[0].RPOMissed || o.Sources[0].Verdict != "no-go" {
		t.Errorf("overview: %v %+v", err, o)
	}
	api := func(u string) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
		}
		return b
	}
	var snaps console.Snapshots
	if err := json.Unmarshal(api("api/snapshots?target=local"), &snaps); err != nil || len(snaps.Snapshots) != 1 {
		t.Fatalf("snapshots: %v %+v", err, snaps)
	}
	id := snaps.Snapshots[0].ID
	var tree console.Tree
	if err := json.Unmarshal(api("api/tree?target=local&snapshot="+id+"&path="+src+"/docs"), &tree); err != nil || len(tree.Entries) != 2 {
		t.Fatalf("tree: %v %+v", err, tree)
	}
	if got := string(api("api/download?target=local&snapshot=" + id + "&path=" + src + "/docs/report.txt")); got != "quarterly numbers\n" {
		t.Errorf("downloaded %q", got)
	}
	tr := tar.NewReader(bytes.NewReader(api("api/download?target=local&snapshot=" + id + "&path=" + src + "/docs")))
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	if strings.Join(names, " ") != "docs/ docs/notes.md docs/report.txt" {
		t.Errorf("tar download holds %q", names)
	}
	if page := string(api("browse?target=local&snapshot=" + id + "&path=" + src + "/docs")); !strings.Contains(page, "report.txt") {
		t.Errorf("browse page:\n%s", page)
	}
	// Restore the folder on the server, following the action's events.
	dest := t.TempDir()
	body := strings.NewReader(`{"target":"local","snapshot":"` + id + `","path":"` + src + `/docs","dest":"` + dest + `"}`)
	req, _ = http.NewRequest(http.MethodPost, base+"api/restore", body)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var started struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("restore: %d", resp.StatusCode)
	}
	events := string(api("api/actions/" + started.ID + "/events"))
	if !strings.Contains(events, `"ok":true`) {
		t.Errorf("restore events:\n%s", events)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "report.txt")); err != nil || string(b) != "quarterly numbers\n" {
		t.Errorf("restored file: %q %v", b, err)
	}
	// A state-changing request from another origin is refused, even with
	// the token.
	req, _ = http.NewRequest(http.MethodPost, base+"api/refresh", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Origin", "https://evil.example")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("refresh from another origin: %d, want 403", resp.StatusCode)
	}
	// Wrong tokens sent at once: the allowance of 5 holds under
	// concurrency, the rest are refused before any comparison.
	codes := make(chan int, 30)
	for range 30 {
		go func() {
			req, _ := http.NewRequest(http.MethodGet, base+"api/overview", nil)
			req.Header.Set("Authorization", "Bearer wrong-token")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- -1
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	got := map[int]int{}
	for range 30 {
		got[<-codes]++
	}
	// (The server's clock runs: a slow machine may see one attempt
	// refilled, 10 s after the first.)
	if n := got[http.StatusUnauthorized]; n < 5 || n > 6 || got[http.StatusTooManyRequests] != 30-n {
		t.Errorf("30 concurrent wrong tokens answered %v, want 5 checked (401) and 25 refused (429)", got)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "130") {
		t.Errorf("serve after SIGTERM: %v, want exit 130", err)
	}
}

// startServe runs cairn serve on a free port with the token file and
// returns once it listens (it says so), with its base URL. The test's end
// kills it if it still runs.
func startServe(t *testing.T, cfg, tokenFile string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(cairnBin, "--config", cfg, "serve", "--listen", "127.0.0.1:0", "--token-file", tokenFile)
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	line := startUntil(t, cmd, "the console on ")
	return cmd, strings.TrimSpace(line[strings.Index(line, "the console on ")+len("the console on "):])
}

// startUntil starts cmd and returns the first line of its stderr holding
// marker, once it has printed it (the rest of stderr is read and
// dropped); the test's end kills it.
func startUntil(t *testing.T, cmd *exec.Cmd, marker string) string {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	rd := bufio.NewReader(stderr)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("%s ended before saying %q: %v", strings.Join(cmd.Args, " "), marker, err)
		}
		if strings.Contains(line, marker) {
			go func() { _, _ = io.Copy(io.Discard, rd) }()
			return line
		}
	}
}
