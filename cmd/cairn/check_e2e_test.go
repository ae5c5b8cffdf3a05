//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// damagedRepo backs up 12 files into small packs and flips one bit in the
// first data pack. It returns the environment, repository directory and
// source directory.
func damagedRepo(t *testing.T) ([]string, string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	env := []string{"CAIRN_PASSWORD=pw", "CAIRN_REPOSITORY=" + dir}
	mustRun(t, env, "init", "--pack-size", "64KiB")
	src := t.TempDir()
	for i := 0; i < 12; i++ {
		data := make([]byte, 50<<10)
		for j := range data {
			data[j] = byte(j*i + j/7 + i)
		}
		put(t, filepath.Join(src, fmt.Sprintf("f%02d", i)), string(data))
	}
	mustRun(t, env, "backup", "--compression", "off", src)
	if r := cairn(t, env, "check", "--read-data"); r.code != 0 {
		t.Fatalf("fresh repository does not check clean: %s", r.stderr)
	}
	var idx map[string]any
	names, _ := os.ReadDir(filepath.Join(dir, "index"))
	if err := json.Unmarshal([]byte(mustRun(t, env, "cat", "index", names[0].Name())), &idx); err != nil {
		t.Fatal(err)
	}
	for _, p := range idx["packs"].([]any) {
		pk := p.(map[string]any)
		if pk["blobs"].([]any)[0].(map[string]any)["type"] == "data" {
			id := pk["id"].(string)
			path := filepath.Join(dir, "data", id[:2], id[2:4], id)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data[10] ^= 0x20
			_ = os.Chmod(path, 0o600)
			if err := os.WriteFile(path, data, 0o400); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	return env, dir, src
}

func TestCheckReportsDamageWithPaths(t *testing.T) {
	env, _, src := damagedRepo(t)
	if r := cairn(t, env, "check"); r.code != 0 {
		t.Errorf("structure check without --read-data failed: %s", r.stderr)
	}
	r := cairn(t, env, "check", "--read-data", "--json")
	if r.code != 1 {
		t.Fatalf("check --read-data on damage: exit %d", r.code)
	}
	var rep struct {
		OK     bool `json:"ok"`
		Damage []struct {
			Blob, Pack string
			Snapshots  []string
			Paths      []string
		} `json:"damage"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if rep.OK || len(rep.Damage) != 1 || len(rep.Damage[0].Paths) != 1 || !strings.HasPrefix(rep.Damage[0].Paths[0], src+"/f") ||
		len(rep.Damage[0].Snapshots) != 1 || rep.Damage[0].Pack == "" {
		t.Fatalf("damage report: %+v", rep)
	}
	damagedFile := filepath.Base(rep.Damage[0].Paths[0])

	// Restore writes everything intact, leaves the damaged file absent,
	// names it, and exits 1.
	target := t.TempDir()
	rr := cairn(t, env, "restore", "latest:"+src, "--target", target)
	if rr.code != 1 || !strings.Contains(rr.stderr, damagedFile) {
		t.Errorf("restore around damage: exit %d, stderr %q", rr.code, rr.stderr)
	}
	entries, _ := os.ReadDir(target)
	if len(entries) != 11 {
		t.Errorf("%d files restored, want the 11 intact ones", len(entries))
	}
	if _, err := os.Stat(filepath.Join(target, damagedFile)); err == nil {
		t.Error("damaged file written to the target")
	}

	// Repair, back up again: the repository checks clean and the latest
	// snapshot restores in full.
	mustRun(t, env, "repair", "index", "--read-data")
	out := mustRun(t, env, "repair", "snapshots", "--forget")
	if !strings.Contains(out, damagedFile) || !strings.Contains(out, "repaired 1 snapshot,") {
		t.Errorf("repair snapshots output:\n%s", out)
	}
	mustRun(t, env, "backup", src)
	if r := cairn(t, env, "check", "--read-data"); r.code != 0 {
		t.Errorf("check after repair and backup: exit %d\n%s", r.code, r.stderr)
	}
	target2 := t.TempDir()
	mustRun(t, env, "restore", "latest:"+src, "--target", target2, "--verify")
	if entries, _ := os.ReadDir(target2); len(entries) != 12 {
		t.Errorf("healed snapshot restores %d files, want 12", len(entries))
	}
}

func TestBadRepositoryFiles(t *testing.T) {
	garble := func(t *testing.T, p string, fn func([]byte) []byte) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(p, 0o600)
		if err := os.WriteFile(p, fn(data), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	first := func(t *testing.T, dir string) string {
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) == 0 {
			t.Fatalf("no files in %s: %v", dir, err)
		}
		return filepath.Join(dir, entries[0].Name())
	}
	tests := []struct {
		name    string
		file    func(t *testing.T, dir string) string
		fn      func([]byte) []byte
		args    []string
		code    int
		message string
	}{
		{"empty key", func(t *testing.T, d string) string { return first(t, filepath.Join(d, "keys")) },
			func([]byte) []byte { return nil }, []string{"snapshots"}, 12, "damaged"},
		{"garbled key", func(t *testing.T, d string) string { return first(t, filepath.Join(d, "keys")) },
			func(b []byte) []byte { b[60] ^= 1; return b }, []string{"snapshots"}, 12, "damaged"},
		{"empty config", func(t *testing.T, d string) string { return filepath.Join(d, "config") },
			func([]byte) []byte { return nil }, []string{"snapshots"}, 1, "config"},
		{"truncated config", func(t *testing.T, d string) string { return filepath.Join(d, "config") },
			func(b []byte) []byte { return b[:len(b)/2] }, []string{"snapshots"}, 1, "config"},
		{"garbled index", func(t *testing.T, d string) string { return first(t, filepath.Join(d, "index")) },
			func(b []byte) []byte { b[len(b)/2] ^= 1; return b }, []string{"check"}, 1, "index"},
		{"truncated snapshot", func(t *testing.T, d string) string { return first(t, filepath.Join(d, "snapshots")) },
			func(b []byte) []byte { return b[:10] }, []string{"check"}, 1, "snapshot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			env := []string{"CAIRN_PASSWORD=pw", "CAIRN_REPOSITORY=" + dir}
			mustRun(t, env, "init")
			src := t.TempDir()
			put(t, filepath.Join(src, "f"), "data")
			mustRun(t, env, "backup", src)
			garble(t, tt.file(t, dir), tt.fn)
			r := cairn(t, env, tt.args...)
			if r.code != tt.code || !strings.Contains(strings.ToLower(r.stderr), tt.message) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", r.code, r.stderr, tt.code, tt.message)
			}
			if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine") {
				t.Errorf("panic: %s", r.stderr)
			}
		})
	}
}

func TestCheckSubsetsAndRolling(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	env := []string{"CAIRN_PASSWORD=pw", "CAIRN_REPOSITORY=" + dir}
	mustRun(t, env, "init", "--pack-size", "64KiB")
	src := t.TempDir()
	for i := 0; i < 20; i++ {
		data := make([]byte, 40<<10)
		for j := range data {
			data[j] = byte(j*(i+3) ^ j>>5)
		}
		put(t, filepath.Join(src, fmt.Sprintf("f%02d", i)), string(data))
	}
	mustRun(t, env, "backup", "--compression", "off", src)
	// n/m groups packs by the first byte of their name (as restic does), so
	// one group may be empty; the m groups together read every pack once.
	var groups float64
	for _, s := range []string{"1/3", "2/3", "3/3"} {
		rep := lastJSON(t, mustRun(t, env, "check", "--read-data-subset", s, "--json"))
		groups += rep["packs_read"].(float64)
	}
	rep := lastJSON(t, mustRun(t, env, "check", "--json"))
	if groups != rep["packs"].(float64) {
		t.Errorf("--read-data-subset 1/3, 2/3, 3/3 read %v packs in all; the repository has %v", groups, rep["packs"])
	}
	for _, s := range []string{"50%", "100K"} {
		rep := lastJSON(t, mustRun(t, env, "check", "--read-data-subset", s, "--json"))
		if read := rep["packs_read"].(float64); read == 0 || read >= rep["packs"].(float64) {
			t.Errorf("--read-data-subset %s read %v of %v packs", s, read, rep["packs"])
		}
	}
	if r := cairn(t, env, "check", "--read-data-subset", "4/3"); r.code != 1 {
		t.Errorf("invalid subset accepted")
	}
	var last map[string]any
	for run := 0; run < 4; run++ {
		last = lastJSON(t, mustRun(t, env, "check", "--rolling", "25%", "--json"))
	}
	roll := last["rolling"].(map[string]any)
	if roll["coverage"] != 1.0 || roll["never_verified"] != 0.0 || roll["oldest_verification"] == nil {
		t.Errorf("after 4 runs of 25%%: %v", roll)
	}
}
