//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/assurance"
	"github.com/cairn-backup/cairn/backend/s3/s3test"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// offsiteProject is a source backed up to a local repository and to an
// object-locked offsite one on the test MinIO, whose configuration names
// the credentials in creds.env (the bucket owner's to start with). It
// returns the configuration's environment, the offsite repository's
// environment with the owner's credentials, an owner's client, the
// bucket, and a function that puts other credentials in creds.env.
func offsiteProject(t *testing.T, mode string) (cfgEnv, offEnv []string, mc *minio.Client, bucket string, useCreds func(ak, sk string)) {
	t.Helper()
	url := s3test.URL(t)
	offEnv = s3Env(t, url)
	if out := mustRun(t, offEnv, "init", "--retention-mode", mode, "--retention-period", "2d"); !strings.Contains(out,
		"object lock: every file is retained in "+mode+" mode for 2d after it is written") {
		t.Errorf("init does not say what lock it set:\n%s", out)
	}
	endpoint, ak, sk := s3test.Server(t)
	bucket = strings.SplitN(strings.TrimPrefix(url, "s3:http://"+endpoint+"/"), "/", 2)[0]
	mc, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, "")})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	put(t, filepath.Join(dir, "pw"), "s3 password")
	useCreds = func(ak, sk string) {
		put(t, filepath.Join(dir, "creds.env"), "AWS_ACCESS_KEY_ID="+ak+"\nAWS_SECRET_ACCESS_KEY="+sk+"\n")
	}
	useCreds(ak, sk)
	src := t.TempDir()
	writeTree(t, src, 4, 20<<10, 51)
	cfg := filepath.Join(dir, "cairn.toml")
	put(t, cfg, fmt.Sprintf(`state-dir = %q
[repositories.local]
url = %q
password-file = "pw"
[repositories.offsite]
url = %q
password-file = "pw"
s3-credentials-file = "creds.env"
maintenance = "elsewhere"
[sources.app]
paths = [%q]
targets = ["local", "offsite"]
[sources.app.retention]
keep-last = 5
`, filepath.Join(dir, "state"), filepath.Join(dir, "local"), url, src))
	mustRun(t, []string{"CAIRN_PASSWORD=s3 password"}, "-r", filepath.Join(dir, "local"), "init")
	cfgEnv = []string{"CAIRN_CONFIG=" + cfg}
	mustRun(t, cfgEnv, "run", "--all")
	return cfgEnv, offEnv, mc, bucket, useCreds
}

// auditOf runs cairn audit app --json and returns the source's audit.
func auditOf(t *testing.T, env []string) *assurance.SourceAudit {
	t.Helper()
	r := cairn(t, env, "audit", "app", "--json")
	var out assurance.AuditJSON
	if err := strictJSON(r.stdout, &out); err != nil || len(out.Sources) != 1 {
		t.Fatalf("audit --json: %v\n%s%s", err, r.stdout, r.stderr)
	}
	return out.Sources[0]
}

func hasReason(a *assurance.SourceAudit, s string) bool {
	for _, r := range a.Reasons {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

// TestAuditNamesTheProtection: with the bucket owner's credentials on a
// governance-locked offsite copy, the audit's probe deletes a
// governance-locked canary version for good with the bypass, so the copy
// is not safe from this machine, and the audit says why and what to do.
// With append-only credentials it is safe, and the audit names the
// protection. A bucket default weakened by the owner's keys is a no-go
// for audit and an error for check, until prune sets it again.
func TestAuditNamesTheProtection(t *testing.T) {
	cfgEnv, offEnv, mc, bucket, useCreds := offsiteProject(t, "governance")
	a := auditOf(t, cfgEnv)
	if a.OffsiteImmutable || a.OffsiteProtection != "" || !hasReason(a, "this machine's credentials bypass it") {
		t.Errorf("audit with the owner's credentials: immutable %v, protection %q, reasons %q", a.OffsiteImmutable, a.OffsiteProtection, a.Reasons)
	}
	if md := mustOrFail(t, cfgEnv, "audit", "app"); !strings.Contains(md, "| offsite safe from this machine | **no**") {
		t.Errorf("audit report:\n%s", md)
	}

	bak, bsk := s3test.AppendOnlyUser(t, bucket)
	useCreds(bak, bsk)
	a = auditOf(t, cfgEnv)
	if !a.OffsiteImmutable || a.OffsiteProtection != "governance lock and append-only credentials" || hasReason(a, "offsite copy") {
		t.Errorf("audit with append-only credentials: immutable %v, protection %q, reasons %q", a.OffsiteImmutable, a.OffsiteProtection, a.Reasons)
	}

	// The owner's keys shorten the bucket default: check and audit say so.
	ctx := context.Background()
	mode, days, unit := minio.Governance, uint(1), minio.Days
	if err := mc.SetBucketObjectLockConfig(ctx, bucket, &mode, &days, &unit); err != nil {
		t.Fatal(err)
	}
	if r := cairn(t, offEnv, "check"); r.code != 1 || !strings.Contains(r.stderr, "shorter than the config's") || !strings.Contains(r.stderr, `run "cairn prune"`) {
		t.Errorf("check with a weakened bucket default: exit %d\n%s", r.code, r.stderr)
	}
	if a = auditOf(t, cfgEnv); a.Verdict != "no-go" || !hasReason(a, "weaker than its config asks") {
		t.Errorf("audit with a weakened bucket default: %s %q", a.Verdict, a.Reasons)
	}
	// The append-only backup refuses to write files only the weakened
	// default would lock, and says why and what to do.
	if r := cairn(t, cfgEnv, "run", "--all"); r.code == 0 || !strings.Contains(r.stdout+r.stderr, "does not cover the repository's (governance for 48h0m0s)") {
		t.Errorf("an append-only run under a weakened default: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustRun(t, offEnv, "prune")
	mustRun(t, offEnv, "check")
	if hasReason(auditOf(t, cfgEnv), "weaker than its config asks") {
		t.Error("the audit still finds the bucket default weakened after prune set it again")
	}
}

// mustOrFail runs cairn and returns its output whatever its exit code (an
// audit with a no-go exits 1).
func mustOrFail(t *testing.T, env []string, args ...string) string {
	t.Helper()
	return cairn(t, env, args...).stdout
}

// TestPruneRelocksWeakenedFiles: the owner's keys turn a compliance
// repository's bucket default to governance and copy every file onto
// itself, so that its current version is locked in governance mode only
// (what a recovery that let copies inherit the bucket default did). check
// names those files as errors; prune with the owner's credentials locks
// them again in compliance mode and sets the default back, and check
// passes.
func TestPruneRelocksWeakenedFiles(t *testing.T) {
	_, offEnv, mc, bucket, _ := offsiteProject(t, "compliance")
	ctx := context.Background()
	mode, days, unit := minio.Governance, uint(2), minio.Days
	if err := mc.SetBucketObjectLockConfig(ctx, bucket, &mode, &days, &unit); err != nil {
		t.Fatal(err)
	}
	weak := 0
	for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "repo/"}) {
		if strings.Contains(o.Key, "/locks/") {
			continue
		}
		dst := minio.CopyDestOptions{Bucket: bucket, Object: o.Key, ReplaceMetadata: true}
		if _, err := mc.CopyObject(ctx, dst, minio.CopySrcOptions{Bucket: bucket, Object: o.Key}); err != nil {
			t.Fatalf("attack: copy %s onto itself: %v", o.Key, err)
		}
		if m, _, err := mc.GetObjectRetention(ctx, bucket, o.Key, ""); err == nil && m != nil && *m == minio.Governance {
			weak++
		}
	}
	if weak == 0 {
		t.Fatal("no file is locked in governance mode after the attack: the test tests nothing")
	}
	r := cairn(t, offEnv, "check")
	if r.code != 1 || strings.Count(r.stderr, "locked in governance mode, weaker than the config's compliance") != weak ||
		!strings.Contains(r.stderr, "the bucket's default retention is governance") {
		t.Errorf("check with %d governance-locked files: exit %d\n%s", weak, r.code, r.stderr)
	}
	mustRun(t, offEnv, "prune")
	mustRun(t, offEnv, "check")
	// Every other file is locked in compliance mode again. Index files
	// are left to check, which passed: prune's new index file is in use,
	// and the old ones it supersedes are not (they go once their
	// retention runs out).
	for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "repo/"}) {
		if strings.Contains(o.Key, "/locks/") || strings.Contains(o.Key, "/index/") {
			continue
		}
		if m, _, err := mc.GetObjectRetention(ctx, bucket, o.Key, ""); err != nil || m == nil || *m != minio.Compliance {
			t.Errorf("%s after prune: %v %v, want compliance", o.Key, m, err)
		}
	}
}

// TestLocksAsUsersReadThem: in an object-locked repository the bucket's
// default retention keeps the lock files of ended commands (and their
// release markers). list locks shows only the locks in force (a check
// stalled mid-run holds one), --all every file; cat lock shows every
// field and the state; unlock says what it removed and what the
// retention keeps.
func TestLocksAsUsersReadThem(t *testing.T) {
	env, _, _ := lockedRepo(t, "2d")
	src := t.TempDir()
	writeTree(t, src, 3, 10<<10, 71)
	mustRun(t, env, "backup", src)
	mustRun(t, env, "backup", src)
	mustRun(t, env, "check")
	if out := strings.TrimSpace(mustRun(t, env, "list", "locks")); out != "" {
		t.Errorf("list locks after every command ended:\n%s", out)
	}
	all := strings.Fields(mustRun(t, env, "list", "locks", "--all"))
	if len(all) == 0 {
		t.Fatal("list locks --all lists nothing: the bucket default kept no lock file, so the test tests nothing")
	}
	states := map[string]int{}
	for _, id := range all {
		var l struct {
			State    string  `json:"state"`
			Released *bool   `json:"released"`
			Ends     *string `json:"ends"`
		}
		if err := strictJSONLoose(mustRun(t, env, "cat", "lock", id), &l); err != nil || l.Released == nil {
			t.Fatalf("cat lock %s: %v", id, err)
		}
		states[l.State]++
	}
	if states["in force"] != 0 || states["ended"]+states["release marker"] != len(all) {
		t.Errorf("states of the kept lock files: %v", states)
	}
	out := mustRun(t, env, "unlock")
	if !strings.Contains(out, "removed 0 lock files") || !strings.Contains(out, "kept by the object lock until their retention lapses") {
		t.Errorf("unlock:\n%s", out)
	}

	s := startStalled(t, env, 1, "check", "--read-data")
	held := strings.Fields(mustRun(t, env, "list", "locks"))
	if len(held) != 1 {
		t.Errorf("list locks while a check runs: %q, want its lock", held)
	} else if !strings.Contains(mustRun(t, env, "cat", "lock", held[0]), `"state":"in force"`) {
		t.Errorf("cat lock of the running check's lock does not say in force")
	}
	if code := s.stop(t, os.Interrupt); code != 130 {
		t.Errorf("stalled check: exit %d", code)
	}
}

// strictJSONLoose decodes the last line of out into v, allowing fields v
// does not name.
func strictJSONLoose(out string, v any) error {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return json.Unmarshal([]byte(lines[len(lines)-1]), v)
}
