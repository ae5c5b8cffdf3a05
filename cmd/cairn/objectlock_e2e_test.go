//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend/s3/s3test"
	"github.com/cairn-backup/cairn/message"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// lockedRepo makes an object-locked repository on the test MinIO and
// returns its environment, a client with full rights, and its bucket.
func lockedRepo(t *testing.T, period string) ([]string, *minio.Client, string) {
	t.Helper()
	url := s3test.URL(t)
	env := s3Env(t, url)
	mustRun(t, env, "init", "--retention-mode", "governance", "--retention-period", period)
	endpoint, ak, sk := s3test.Server(t)
	mc, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, "")})
	if err != nil {
		t.Fatal(err)
	}
	return env, mc, strings.SplitN(strings.TrimPrefix(url, "s3:http://"+endpoint+"/"), "/", 2)[0]
}

// TestObjectLockedRepository: every file cairn writes is retained for the
// period; forget of a retained snapshot forgets it (the
// file stays until its retention runs out); prune deletes nothing locked
// and says until when; with the client's full credentials no stored
// version can be deleted; check and restore keep working.
func TestObjectLockedRepository(t *testing.T) {
	env, mc, bucket := lockedRepo(t, "2d")
	ctx := context.Background()
	src := t.TempDir()
	writeTree(t, src, 8, 30<<10, 11)
	mustRun(t, env, "backup", src)
	writeTree(t, src, 4, 30<<10, 12)
	mustRun(t, env, "backup", src)

	objects := 0
	for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "repo/"}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if strings.Contains(o.Key, "/locks/") {
			// The bucket default retention keeps lock files too: released
			// ones stay, ended by release markers (the exclusive prune
			// below shows that none is in force).
			continue
		}
		objects++
		mode, until, err := mc.GetObjectRetention(ctx, bucket, o.Key, "")
		if err != nil || mode == nil || *mode != minio.Governance || until == nil ||
			until.Before(time.Now().Add(47*time.Hour)) || until.After(time.Now().Add(49*time.Hour)) {
			t.Errorf("%s: retention %v until %v (%v); want governance for 2 days", o.Key, mode, until, err)
		}
	}
	if objects < 6 {
		t.Fatalf("only %d objects stored", objects)
	}

	// forget: the older snapshot's file is retained, so it is forgotten.
	mustRun(t, env, "forget", "--keep-last", "1")
	if n := snapshotCount(t, env); n != 1 {
		t.Errorf("%d snapshots after forget --keep-last 1", n)
	}
	out := mustRun(t, env, "prune", "--max-unused", "0")
	if !strings.Contains(out, "files are retained by the object lock (the first until") {
		t.Errorf("prune does not say what the lock kept:\n%s", out)
	}
	mustRun(t, env, "check", "--read-data")
	mustRun(t, env, "restore", "latest", "--target", t.TempDir(), "--verify")

	// The attack, with the client's own (full) credentials: deleting any
	// stored version fails; a plain delete only adds a delete marker,
	// which leaves every version in place.
	deleted := 0
	for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "repo/", WithVersions: true}) {
		if o.IsDeleteMarker {
			continue
		}
		if err := mc.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{VersionID: o.VersionID}); err == nil {
			deleted++
			t.Errorf("deleted %s version %s", o.Key, o.VersionID)
		}
	}
	versions := 0
	for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "repo/", WithVersions: true}) {
		if !o.IsDeleteMarker {
			versions++
		}
	}
	if versions < objects {
		t.Errorf("%d stored versions after the attack, %d objects before", versions, objects)
	}
	mustRun(t, env, "check")
}

// TestObjectLockNeedsALockedBucket: a lock policy on a bucket created
// without object locking is refused in one sentence, before anything is
// written; and --retention-period alone is refused.
func TestObjectLockNeedsALockedBucket(t *testing.T) {
	cfg := s3test.Config(t, "") // an existing bucket without locking
	env := s3Env(t, "s3:http://"+cfg.Endpoint+"/"+cfg.Bucket+"/repo")
	r := cairn(t, env, "init", "--retention-mode", "governance", "--retention-period", "30d")
	if r.code != 1 || !strings.Contains(r.stderr, "was not created with object locking") {
		t.Errorf("init with a lock on an unlocked bucket: exit %d\n%s", r.code, r.stderr)
	}
	if r := cairn(t, env, "snapshots"); r.code != 10 {
		t.Errorf("after the refused init: exit %d, want 10 (no repository)\n%s", r.code, r.stderr)
	}
	if r := cairn(t, env, "init", "--retention-period", "30d"); r.code != 1 || !strings.Contains(r.stderr, "--retention-mode") {
		t.Errorf("a period without a mode: exit %d\n%s", r.code, r.stderr)
	}
}

// TestAppendOnlyCredentials: with credentials that can put, get and list
// but not delete (a MinIO user with such a policy), backup, check
// --read-data and restore work and leave no lock in force; forget and
// prune refuse in one sentence with exit 13 before writing anything; and
// deleting any stored object with those credentials fails.
func TestAppendOnlyCredentials(t *testing.T) {
	env, mc, bucket := lockedRepo(t, "2d")
	ak, sk := s3test.AppendOnlyUser(t, bucket)
	var appendEnv []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
			appendEnv = append(appendEnv, kv)
		}
	}
	appendEnv = append(appendEnv, "AWS_ACCESS_KEY_ID="+ak, "AWS_SECRET_ACCESS_KEY="+sk)
	src := t.TempDir()
	writeTree(t, src, 6, 30<<10, 21)
	mustRun(t, appendEnv, "backup", src)
	writeTree(t, src, 3, 30<<10, 22)
	mustRun(t, appendEnv, "backup", src)
	// Those credentials may not set a retention: the bucket's default
	// (set by init) locks what they wrote.
	for o := range mc.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "repo/"}) {
		mode, until, err := mc.GetObjectRetention(context.Background(), bucket, o.Key, "")
		if err != nil || mode == nil || *mode != minio.Governance || until == nil || until.Before(time.Now().Add(47*time.Hour)) {
			t.Errorf("%s written with append-only credentials: retention %v until %v (%v)", o.Key, mode, until, err)
		}
	}
	mustRun(t, appendEnv, "check", "--read-data")
	target := t.TempDir()
	mustRun(t, appendEnv, "restore", "latest", "--target", target, "--verify")
	sameTrees(t, src, target+src)
	if locks := strings.TrimSpace(mustRun(t, env, "list", "locks", "--all")); locks == "" {
		t.Error("no lock files at all: the release markers are missing")
	}
	if locks := strings.TrimSpace(mustRun(t, env, "list", "locks")); locks != "" {
		t.Errorf("locks in force after every command ended: %s", locks)
	}
	// No lock is in force: an exclusive command with full rights runs.
	mustRun(t, env, "tag", "--add", "checked", "latest")

	before := objectVersions(t, mc, bucket)
	for _, args := range [][]string{{"forget", "--keep-last", "1"}, {"prune"}} {
		r := cairn(t, appendEnv, args...)
		if r.code != 13 || !strings.Contains(r.stderr, "lack the permission") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%s with append-only credentials: exit %d\n%s", args[0], r.code, r.stderr)
		}
	}
	endpoint, _, _ := s3test.Server(t)
	amc, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for o := range amc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "repo/", WithVersions: true}) {
		if strings.Contains(o.Key, "/locks/") {
			continue
		}
		if err := amc.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{VersionID: o.VersionID}); err == nil {
			t.Errorf("append-only credentials deleted %s", o.Key)
		}
		if err := amc.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{}); err == nil {
			t.Errorf("append-only credentials hid %s behind a delete marker", o.Key)
		}
	}
	after := objectVersions(t, mc, bucket)
	for k, v := range before {
		if !strings.Contains(k, "/locks/") && after[k] != v {
			t.Errorf("%s changed: %d versions before, %d after", k, v, after[k])
		}
	}
	mustRun(t, env, "check")

	// Overwriting is a PUT, which these credentials may do: the garbage
	// becomes the newest version, the locked earlier one stays, check
	// names the damage, and repair versions brings the file back.
	asOf := time.Now()
	ids := snapshotIDs(t, env)
	snapKey := "repo/snapshots/" + ids[len(ids)-1]
	g := strings.Repeat("garbage ", 64)
	if _, err := amc.PutObject(ctx, bucket, snapKey, strings.NewReader(g), int64(len(g)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("overwrite with append-only credentials: %v", err)
	}
	if r := cairn(t, env, "check"); r.code != 1 {
		t.Errorf("check after an overwritten snapshot %s: exit %d\n%s%s", snapKey, r.code, r.stdout, r.stderr)
	}
	mustRun(t, env, "repair", "versions", "--as-of", asOf.Format("2006-01-02 15:04:05.000000000"))
	mustRun(t, env, "check", "--read-data")
	if n := snapshotCount(t, env); n != 2 {
		t.Errorf("%d snapshots after recovery, want 2", n)
	}
}

// objectVersions counts the stored versions (not delete markers) of every
// object of the bucket.
func objectVersions(t *testing.T, mc *minio.Client, bucket string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for o := range mc.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "repo/", WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if !o.IsDeleteMarker {
			out[o.Key]++
		}
	}
	return out
}

// TestRecoverAfterAttack: with the client's full credentials an attacker
// hides every object behind a delete marker, overwrites the config and a
// snapshot, and writes garbage under new names. repair versions --as-of a
// time before the attack brings back a repository where check --read-data
// passes and every earlier snapshot restores identical.
func TestRecoverAfterAttack(t *testing.T) {
	env, mc, bucket := lockedRepo(t, "2d")
	ctx := context.Background()
	src := t.TempDir()
	writeTree(t, src, 6, 30<<10, 31)
	mustRun(t, env, "backup", src)
	writeTree(t, src, 3, 30<<10, 32)
	mustRun(t, env, "backup", src)
	var before []string
	for _, id := range snapshotIDs(t, env) {
		dir := t.TempDir()
		mustRun(t, env, "restore", id, "--target", dir)
		before = append(before, dir)
	}
	asOf := time.Now()

	// The attack.
	var keys []string
	for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "repo/"}) {
		keys = append(keys, o.Key)
	}
	for _, k := range keys {
		if err := mc.RemoveObject(ctx, bucket, k, minio.RemoveObjectOptions{}); err != nil {
			t.Fatalf("attack: delete %s: %v", k, err)
		}
	}
	garbage := func(key string) {
		g := strings.Repeat("ransom ", 100)
		if _, err := mc.PutObject(ctx, bucket, key, strings.NewReader(g), int64(len(g)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("attack: write %s: %v", key, err)
		}
	}
	garbage("repo/config")
	for _, k := range keys {
		if strings.Contains(k, "/snapshots/") {
			garbage(k)
			break
		}
	}
	garbage("repo/snapshots/" + strings.Repeat("ab", 32))
	garbage("repo/data/cd/cd/" + strings.Repeat("cd", 32))
	if r := cairn(t, env, "snapshots"); r.code == 0 {
		t.Fatalf("the attack left a readable repository:\n%s", r.stdout)
	}

	dry := mustRun(t, env, "repair", "versions", "--as-of", asOf.Format("2006-01-02 15:04:05.000000000"), "--dry-run")
	if !strings.Contains(dry, "would restore") {
		t.Errorf("dry run:\n%s", dry)
	}
	var sum message.RecoverSummary
	if err := strictJSON(mustRun(t, env, "repair", "versions", "--as-of", asOf.Format("2006-01-02 15:04:05.000000000"), "--json"), &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Restored) < len(keys)-2 || len(sum.Hidden) != 2 {
		t.Errorf("recovery: %d restored of %d objects, %d hidden (want the 2 new names): %+v", len(sum.Restored), len(keys), len(sum.Hidden), sum)
	}
	mustRun(t, env, "check", "--read-data")
	ids := snapshotIDs(t, env)
	if len(ids) != len(before) {
		t.Fatalf("%d snapshots after recovery, %d before", len(ids), len(before))
	}
	for i, id := range ids {
		dir := t.TempDir()
		mustRun(t, env, "restore", id, "--target", dir)
		sameTrees(t, before[i], dir)
	}
}

// snapshotIDs lists the snapshot IDs, oldest first.
func snapshotIDs(t *testing.T, env []string) []string {
	t.Helper()
	var snaps []message.Snapshot
	if err := json.Unmarshal([]byte(mustRun(t, env, "snapshots", "--json")), &snaps); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range snaps {
		ids = append(ids, s.ID)
	}
	return ids
}

// TestRunWithAppendOnlyCredentials: cairn run backs up to an object-locked
// offsite repository with append-only credentials and does forget and
// prune with the maintenance credentials the configuration names; with
// maintenance = "elsewhere" it leaves them to the maintenance machine.
func TestRunWithAppendOnlyCredentials(t *testing.T) {
	url := s3test.URL(t)
	env := s3Env(t, url)
	mustRun(t, env, "init", "--retention-mode", "governance", "--retention-period", "2d")
	endpoint, ak, sk := s3test.Server(t)
	bucket := strings.SplitN(strings.TrimPrefix(url, "s3:http://"+endpoint+"/"), "/", 2)[0]
	bak, bsk := s3test.AppendOnlyUser(t, bucket)
	dir := t.TempDir()
	put(t, filepath.Join(dir, "pw"), "s3 password")
	put(t, filepath.Join(dir, "backup.env"), "AWS_ACCESS_KEY_ID="+bak+"\nAWS_SECRET_ACCESS_KEY="+bsk+"\n")
	put(t, filepath.Join(dir, "maint.env"), "AWS_ACCESS_KEY_ID="+ak+"\nAWS_SECRET_ACCESS_KEY="+sk+"\n")
	src := t.TempDir()
	writeTree(t, src, 4, 20<<10, 41)
	config := func(maintenance string) string {
		cfg := filepath.Join(dir, "cairn.toml")
		put(t, cfg, fmt.Sprintf(`state-dir = %q
[repositories.local]
url = %q
password-file = "pw"
[repositories.offsite]
url = %q
password-file = "pw"
s3-credentials-file = "backup.env"
%s
[sources.app]
paths = [%q]
targets = ["local", "offsite"]
[sources.app.retention]
keep-last = 1
[sources.app.drill]
target = "offsite"
`, filepath.Join(dir, "state-"+strings.Fields(maintenance + " x")[0]), filepath.Join(dir, "local"), url, maintenance, src))
		return cfg
	}
	mustRun(t, []string{"CAIRN_PASSWORD=s3 password"}, "-r", filepath.Join(dir, "local"), "init")
	cfg := config(`maintenance-credentials-file = "maint.env"`)
	runEnv := []string{"CAIRN_CONFIG=" + cfg}
	reps := runReports(t, mustRun(t, runEnv, "run", "--all", "--json"))
	app := reps["app"]
	if app.Status != "ok" || app.step("backup local") != "ok" || app.step("copy offsite") != "ok" ||
		app.step("forget offsite") != "ok" || app.step("prune offsite") != "ok" {
		t.Errorf("run with maintenance credentials: %+v", app)
	}
	// A restore drill from the offsite copy with the append-only
	// credentials (it writes its record there).
	if out := mustRun(t, runEnv, "drill", "app"); !strings.Contains(out, "PASS") || !strings.Contains(out, "recorded as") {
		t.Errorf("drill from the append-only offsite copy:\n%q", out)
	}

	cfg = config(`maintenance = "elsewhere"`)
	reps = runReports(t, mustRun(t, []string{"CAIRN_CONFIG=" + cfg}, "run", "--all", "--json"))
	app = reps["app"]
	if app.Status != "ok" || app.step("prune offsite") != "absent" {
		t.Errorf("run with maintenance elsewhere: %+v", app)
	}
	for _, s := range app.Steps {
		if s.Name == "forget offsite" && !strings.Contains(s.Message, "maintenance machine") {
			t.Errorf("forget step says %q", s.Message)
		}
	}
	if n := snapshotCount(t, env); n != 2 {
		t.Errorf("%d snapshots on the offsite copy; want 2 (the second run forgot nothing there)", n)
	}
}
