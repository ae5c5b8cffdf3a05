//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/backend/s3/s3test"
)

// readmeBlock returns the first ```sh block of the README after the line
// holding marker.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("README has no %q", marker)
	}
	text = text[i:]
	start := strings.Index(text, "```sh\n")
	if start < 0 {
		t.Fatalf("no sh block after %q", marker)
	}
	text = text[start+len("```sh\n"):]
	return text[:strings.Index(text, "```")]
}

// TestReadmeRecipesRun runs the README's commands as written: the Quick
// start's "for your own files" and the "Protect a project in five
// minutes" recipe, in bash with set -e, with only the machine's places
// moved into a temporary folder (/srv, /etc/cairn, the home folder), the
// MinIO address and the credentials of the test server, and $EDITOR
// doing the edit the recipe asks for (pointing the example's paths at
// that folder). schedule install writes its units into that folder
// without enabling them (the test machine runs no systemd).
func TestReadmeRecipesRun(t *testing.T) {
	endpoint, ak, sk := s3test.Server(t)
	hooks := newHookServer(t)
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	bin := filepath.Join(tmp, "bin")
	for _, d := range []string{home, bin, filepath.Join(home, "projects", "site"), filepath.Join(tmp, "srv", "app", "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(cairnBin, filepath.Join(bin, "cairn")); err != nil {
		t.Fatal(err)
	}
	put(t, filepath.Join(home, "projects", "site", "index.html"), "<h1>hello</h1>\n")
	put(t, filepath.Join(tmp, "srv", "app", "main.go"), "package main\n")
	_, stop := sqliteWriter(t, filepath.Join(tmp, "srv", "app", "data", "app.db"))
	defer stop()
	bucket := s3test.BucketName()
	examples, err := filepath.Abs("../../examples/cairn.toml")
	if err != nil {
		t.Fatal(err)
	}
	places := strings.NewReplacer(
		"/srv/", tmp+"/srv/",
		"/etc/cairn", tmp+"/etc/cairn",
		"/tmp/restore", tmp+"/restore",
		"127.0.0.1:9000", endpoint,
		"cairn-offsite", bucket,
	)
	editor := filepath.Join(tmp, "editor")
	put(t, editor, fmt.Sprintf(`#!/bin/sh
sed -i -e 's|/srv/|%[1]s/srv/|g' -e 's|/etc/cairn|%[1]s/etc/cairn|g' -e 's|127.0.0.1:9000|%[2]s|g' \
    -e 's|cairn-offsite|%[3]s|g' -e 's|https://hooks.example.com/cairn/T0KEN|%[4]s/hook|g' "$1"
`, tmp, endpoint, bucket, hooks.URL))
	if err := os.Chmod(editor, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(name, script string) {
		t.Helper()
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
		cmd.Dir = tmp
		cmd.Env = []string{"HOME=" + home, "PATH=" + bin + ":" + os.Getenv("PATH"), "EDITOR=" + editor}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the README's %s, as written, failed: %v\n--- script:\n%s\n--- output:\n%s", name, err, script, out)
		}
	}

	own := readmeBlock(t, "Then, for your own files:")
	if !strings.Contains(own, "bin/cairn init") {
		t.Fatalf("the Quick start's recipe changed; this test runs it:\n%s", own)
	}
	own = strings.ReplaceAll(own, "make build ", ": make build ") // cairn is built already
	own = strings.ReplaceAll(own, "bin/cairn", "cairn")
	run("Quick start (for your own files)", places.Replace(own))
	if b, err := os.ReadFile(filepath.Join(tmp, "restore", home, "projects", "site", "index.html")); err != nil || string(b) != "<h1>hello</h1>\n" {
		t.Errorf("the Quick start's restore: %q %v", b, err)
	}

	five := readmeBlock(t, "## Protect a project in five minutes")
	five = strings.ReplaceAll(five, "AWS_ACCESS_KEY_ID=...", "AWS_ACCESS_KEY_ID="+ak)
	five = strings.ReplaceAll(five, "AWS_SECRET_ACCESS_KEY=...", "AWS_SECRET_ACCESS_KEY="+sk)
	five = strings.ReplaceAll(five, "cp examples/cairn.toml", "cp "+examples)
	if !strings.Contains(five, "cairn schedule install ") {
		t.Fatalf("the five-minute recipe changed; this test runs it:\n%s", five)
	}
	five = strings.ReplaceAll(five, "cairn schedule install ", "cairn schedule install --unit-dir "+filepath.Join(tmp, "units")+" --no-enable ")
	run("five-minute recipe", places.Replace(five))
	if _, err := os.Stat(filepath.Join(tmp, "units")); err != nil {
		t.Errorf("schedule install wrote no units: %v", err)
	}
	// Both sources are in both repositories.
	for _, repo := range [][]string{
		{"CAIRN_PASSWORD_FILE=" + tmp + "/etc/cairn/password", "CAIRN_REPOSITORY=" + tmp + "/srv/backup/cairn"},
		append([]string{"CAIRN_PASSWORD_FILE=" + tmp + "/etc/cairn/password-offsite",
			"CAIRN_REPOSITORY=s3:http://" + endpoint + "/" + bucket + "/app"}, s3test.Env(t)...),
	} {
		if n := snapshotCount(t, repo); n != 2 {
			t.Errorf("%s holds %d snapshots after the recipe's run --all, want 2 (app and app-db)", repo[1], n)
		}
	}
}
