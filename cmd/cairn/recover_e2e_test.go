//go:build linux

package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend/s3/s3test"
	"github.com/cairn-backup/cairn/message"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestRecoverSkipsDamagedVersions: an attacker with the bucket owner's
// keys overwrites a pack with 1000 bytes of garbage and weakens the
// bucket's default retention from compliance to governance, then hides
// every object. repair versions --as-of a time after the first attack
// skips the garbage version for the good one below it (and names it),
// and locks every copy in the config's compliance mode, not the bucket's
// new default; check --read-data then finds only the weakened default,
// which prune sets again. Later garbage over a snapshot is
// undone by repair versions without a time (the newest intact state).
func TestRecoverSkipsDamagedVersions(t *testing.T) {
	url := s3test.URL(t)
	env := s3Env(t, url)
	mustRun(t, env, "init", "--retention-mode", "compliance", "--retention-period", "1d")
	endpoint, ak, sk := s3test.Server(t)
	mc, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, "")})
	if err != nil {
		t.Fatal(err)
	}
	bucket := strings.SplitN(strings.TrimPrefix(url, "s3:http://"+endpoint+"/"), "/", 2)[0]
	ctx := context.Background()
	src := t.TempDir()
	writeTree(t, src, 6, 30<<10, 41)
	mustRun(t, env, "backup", src)
	before := t.TempDir()
	mustRun(t, env, "restore", "latest", "--target", before)

	var keys []string
	pack := ""
	for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "repo/"}) {
		keys = append(keys, o.Key)
		if strings.Contains(o.Key, "/data/") && pack == "" {
			pack = o.Key
		}
	}
	garbage := func(key string, n int) {
		t.Helper()
		g := strings.Repeat("x", n)
		if _, err := mc.PutObject(ctx, bucket, key, strings.NewReader(g), int64(n), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("attack: overwrite %s: %v", key, err)
		}
	}
	// The first attack: garbage over a pack, and a weaker bucket default.
	garbage(pack, 1000)
	if r := cairn(t, env, "check", "--read-data"); r.code != 1 || !strings.Contains(r.stderr, `first "cairn repair versions --dry-run"`) {
		t.Errorf("check of a versioned bucket with a damaged pack: exit %d, its advice does not start with repair versions:\n%s", r.code, r.stderr)
	}
	mode, days, unit := minio.Governance, uint(1), minio.Days
	if err := mc.SetBucketObjectLockConfig(ctx, bucket, &mode, &days, &unit); err != nil {
		t.Fatalf("attack: weaken the bucket default: %v", err)
	}
	asOf := time.Now()
	// The second attack: every object hidden.
	for _, k := range keys {
		if err := mc.RemoveObject(ctx, bucket, k, minio.RemoveObjectOptions{}); err != nil {
			t.Fatalf("attack: delete %s: %v", k, err)
		}
	}

	var sum message.RecoverSummary
	out := mustRun(t, env, "repair", "versions", "--as-of", asOf.Format("2006-01-02 15:04:05.000000000"), "--json")
	if err := strictJSON(out, &sum); err != nil {
		t.Fatal(err)
	}
	rel := strings.TrimPrefix(pack, "repo/")
	if len(sum.Skipped) != 1 || sum.Skipped[0].Path != rel || sum.Skipped[0].Size != 1000 {
		t.Errorf("skipped versions %+v, want the 1000-byte garbage over %s", sum.Skipped, rel)
	}
	if sum.RetentionMode != "compliance" || sum.RetentionPeriod != 86400 {
		t.Errorf("copies locked in %q for %v s, want the config's compliance for a day", sum.RetentionMode, sum.RetentionPeriod)
	}
	// The data is whole again; the weakened bucket default is still an
	// error, until prune sets it again.
	if r := cairn(t, env, "check", "--read-data"); r.code != 1 || !strings.Contains(r.stderr, "the bucket's default retention is governance") ||
		strings.Contains(r.stderr, "damaged or missing blobs hurt") {
		t.Errorf("check after recovery, with the bucket default still weakened: exit %d\n%s", r.code, r.stderr)
	}
	mustRun(t, env, "prune")
	mustRun(t, env, "check", "--read-data")
	after := t.TempDir()
	mustRun(t, env, "restore", "latest", "--target", after)
	sameTrees(t, before, after)
	for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "repo/"}) {
		if strings.Contains(o.Key, "/locks/") {
			continue
		}
		m, _, err := mc.GetObjectRetention(ctx, bucket, o.Key, "")
		if err != nil || m == nil || *m != minio.Compliance {
			t.Errorf("%s after recovery: retention %v %v, want compliance", o.Key, m, err)
		}
	}

	// Garbage over a snapshot: the newest intact state, found without a time.
	ids := snapshotIDs(t, env)
	garbage("repo/snapshots/"+ids[0], 700)
	if r := cairn(t, env, "snapshots"); r.code == 0 && strings.Contains(r.stdout, ids[0][:8]) {
		t.Fatalf("the overwritten snapshot still lists:\n%s", r.stdout)
	}
	dry := mustRun(t, env, "repair", "versions", "--dry-run")
	if !strings.Contains(dry, "would restore 1 files") || !strings.Contains(dry, "1 damaged versions skipped") {
		t.Errorf("dry run of the newest intact state:\n%s", dry)
	}
	mustRun(t, env, "repair", "versions")
	mustRun(t, env, "check", "--read-data")
	if got := snapshotIDs(t, env); len(got) != 1 || got[0] != ids[0] {
		t.Errorf("snapshots after recovering the newest intact state: %v, want %v", got, ids)
	}
}

// TestDiagnosesPointToTheFix: an S3 repository opened without credentials
// says that none were found and where cairn looked (not that append-only
// credentials cannot delete); an object-locked bucket whose files were
// all hidden behind delete markers points to repair versions, never to
// init.
func TestDiagnosesPointToTheFix(t *testing.T) {
	env, mc, bucket := lockedRepo(t, "2d")
	src := t.TempDir()
	writeTree(t, src, 2, 10<<10, 61)
	mustRun(t, env, "backup", src)
	var repoURL string
	for _, e := range env {
		if strings.HasPrefix(e, "CAIRN_REPOSITORY=") {
			repoURL = e
		}
	}
	r := cairn(t, []string{"CAIRN_PASSWORD=s3 password", repoURL}, "snapshots")
	if r.code != 13 || !strings.Contains(r.stderr, "no S3 credentials were found") || !strings.Contains(r.stderr, "AWS_ACCESS_KEY_ID") ||
		strings.Contains(r.stderr, "append-only") {
		t.Errorf("snapshots without credentials: exit %d\n%s", r.code, r.stderr)
	}
	ctx := context.Background()
	for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "repo/"}) {
		if err := mc.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r = cairn(t, env, "snapshots")
	if r.code != 10 || !strings.Contains(r.stderr, `"cairn repair versions --dry-run"`) || strings.Contains(r.stderr, `to create one`) {
		t.Errorf("snapshots of a bucket whose files are hidden: exit %d\n%s", r.code, r.stderr)
	}
	mustRun(t, env, "repair", "versions")
	if n := snapshotCount(t, env); n != 1 {
		t.Errorf("%d snapshots after repair versions, want 1", n)
	}
}
