//go:build linux

package main

import (
	"bufio"
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
	tokenFile := filepath.Join(dir, "console-token")
	cmd := exec.Command(cairnBin, "--config", cfg, "serve", "--listen", "127.0.0.1:0", "--token-file", tokenFile)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	rd := bufio.NewReader(stderr)
	var base string
	for base == "" {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("serve ended: %v", err)
		}
		if i := strings.Index(line, "the console on "); i >= 0 {
			base = strings.TrimSpace(line[i+len("the console on "):])
		}
	}
	go io.Copy(io.Discard, rd)
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
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "130") {
		t.Errorf("serve after SIGTERM: %v, want exit 130", err)
	}
}
