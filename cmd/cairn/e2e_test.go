//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cairnBin is the binary under test, built once by TestMain.
var cairnBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cairn-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cairnBin = filepath.Join(dir, "cairn")
	// Built without -race: argon2id at 32 MiB runs ten times slower under the
	// race detector. The library packages run their concurrent tests with it.
	out, err := exec.Command("go", "build", "-o", cairnBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build cairn: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// cairn runs the binary with env added to a clean environment.
func cairn(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(cairnBin, args...)
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{stdout.String(), stderr.String(), code}
}

func mustRun(t *testing.T, env []string, args ...string) string {
	t.Helper()
	r := cairn(t, env, args...)
	if r.code != 0 {
		t.Fatalf("cairn %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// tree returns every file under dir with its contents and mode.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d %v\n", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if !fi.IsDir() {
			data, err := os.ReadFile(p)
			fmt.Fprintf(&b, "%x\n", data)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestInitAndKeyList(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	env := []string{"CAIRN_PASSWORD=secret one"}
	out := mustRun(t, env, "init", "-r", dir)
	if !strings.Contains(out, "created cairn repository") {
		t.Errorf("init output: %q", out)
	}
	for _, sub := range []string{"config", "keys", "data"} {
		if _, err := os.Stat(filepath.Join(dir, sub)); sub != "data" && err != nil {
			t.Errorf("%s missing after init: %v", sub, err)
		}
	}
	// --password-file, and CAIRN_REPOSITORY with the local: scheme.
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("secret one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, []string{"CAIRN_REPOSITORY=local:" + dir}, "--password-file", pwFile, "key", "list")
	if !strings.Contains(out, "*") || strings.Count(out, "\n") != 2 {
		t.Errorf("key list output:\n%s", out)
	}
	out = mustRun(t, []string{"CAIRN_PASSWORD_FILE=" + pwFile}, "-r", dir, "key", "list", "--json")
	var keys []map[string]any
	if err := json.Unmarshal([]byte(out), &keys); err != nil || len(keys) != 1 || keys[0]["current"] != true {
		t.Errorf("key list --json = %q (%v)", out, err)
	}
	if mem, _ := keys[0]["kdf_memory"].(float64); mem != 32<<20 {
		t.Errorf("default KDF memory %v, want 32 MiB", keys[0]["kdf_memory"])
	}
	if passes, _ := keys[0]["kdf_time"].(float64); passes != 6 {
		t.Errorf("default KDF passes %v, want 6 (the work of 64 MiB and 3 passes)", keys[0]["kdf_time"])
	}
	if r := cairn(t, env, "init", "-r", dir); r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("second init: exit %d, %q", r.code, r.stderr)
	}
	for _, o := range []string{out, mustRun(t, env, "-r", dir, "cat", "config"), mustRun(t, env, "-r", dir, "cat", "keys")} {
		if strings.Contains(o, "secret one") {
			t.Error("password printed")
		}
	}
}

func TestExitCodes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	mustRun(t, []string{"CAIRN_PASSWORD=right"}, "init", "-r", dir)
	before := tree(t, dir)
	tests := []struct {
		name string
		env  []string
		args []string
		code int
		msg  string
	}{
		{"wrong password", []string{"CAIRN_PASSWORD=wrong"}, []string{"-r", dir, "key", "list"}, 12, "wrong password"},
		{"no repository", []string{"CAIRN_PASSWORD=right"}, []string{"-r", filepath.Join(dir, "nope"), "key", "list"}, 10, "no repository at " + filepath.Join(dir, "nope")},
		{"repository path is a file", []string{"CAIRN_PASSWORD=right"}, []string{"-r", filepath.Join(dir, "config"), "key", "list"}, 10, "no repository at " + filepath.Join(dir, "config")},
		{"no password", nil, []string{"-r", dir, "key", "list"}, 1, "no password given"},
		{"no repo flag", []string{"CAIRN_PASSWORD=right"}, []string{"key", "list"}, 1, "no repository given"},
		{"bad s3 location", []string{"CAIRN_PASSWORD=right"}, []string{"-r", "s3:127.0.0.1:9/b", "key", "list"}, 1, "s3 location must"},
		{"unknown scheme", []string{"CAIRN_PASSWORD=right"}, []string{"-r", "sftp:host:/x", "key", "list"}, 1, "unknown repository scheme"},
		{"bad compression", []string{"CAIRN_PASSWORD=right"}, []string{"-r", dir, "--compression", "fast", "key", "list"}, 1, "unknown compression"},
		{"cat unknown", []string{"CAIRN_PASSWORD=right"}, []string{"-r", dir, "cat", "nonsense"}, 1, "unknown object"},
		{"cat missing blob", []string{"CAIRN_PASSWORD=right"}, []string{"-r", dir, "cat", "blob", strings.Repeat("ab", 32)}, 1, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cairn(t, tt.env, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", r.code, r.stderr, tt.code, tt.msg)
			}
			if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || strings.Contains(r.stderr, "goroutine") {
				t.Errorf("error is not one sentence: %q", r.stderr)
			}
		})
	}
	if after := tree(t, dir); after != before {
		t.Error("failed commands changed the repository's files")
	}
}

func TestKeyCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	tmp := t.TempDir()
	write := func(name, pw string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(pw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	one, two, three := write("one", "pw one"), write("two", "pw two"), write("three", "pw three")
	as := func(pwFile string) []string {
		return []string{"CAIRN_PASSWORD_FILE=" + pwFile, "CAIRN_REPOSITORY=" + dir}
	}
	mustRun(t, as(one), "init")
	if r := cairn(t, as(one), "key", "remove", strings.TrimPrefix(keyIDs(t, as(one))[0], "*")); r.code != 1 || !strings.Contains(r.stderr, "refusing") {
		t.Errorf("removing the last key: exit %d %q", r.code, r.stderr)
	}
	mustRun(t, as(one), "key", "add", "--new-password-file", two)
	if ids := keyIDs(t, as(two)); len(ids) != 2 {
		t.Fatalf("after add: %d keys", len(ids))
	}
	// Remove the first key using the second password.
	first := keyIDs(t, as(one))
	var firstID string
	for _, k := range first {
		if strings.HasPrefix(k, "*") {
			firstID = k[1:]
		}
	}
	mustRun(t, as(two), "key", "remove", firstID[:8])
	if r := cairn(t, as(one), "key", "list"); r.code != 12 {
		t.Errorf("removed key still opens: exit %d", r.code)
	}
	mustRun(t, as(two), "key", "passwd", "--new-password-file", three)
	if r := cairn(t, as(two), "key", "list"); r.code != 12 {
		t.Errorf("old password after passwd: exit %d", r.code)
	}
	if ids := keyIDs(t, as(three)); len(ids) != 1 {
		t.Errorf("after passwd: keys %v", ids)
	}
}

// keyIDs returns the key IDs from "key list --json", the current one
// prefixed with "*".
func keyIDs(t *testing.T, env []string) []string {
	t.Helper()
	var keys []struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, env, "key", "list", "--json")), &keys); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		if k.Current {
			ids = append(ids, "*"+k.ID)
		} else {
			ids = append(ids, k.ID)
		}
	}
	return ids
}

func TestHelpHasExamples(t *testing.T) {
	for _, c := range [][]string{{"init"}, {"key"}, {"cat"}} {
		out := mustRun(t, nil, append(c, "--help")...)
		if !strings.Contains(out, "Examples:") {
			t.Errorf("cairn %s --help has no examples", c[0])
		}
	}
}
