//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend/s3/s3test"
	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/message"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// s3Env returns the environment for a new repository on the test MinIO.
func s3Env(t *testing.T, location string) []string {
	t.Helper()
	return append(s3test.Env(t), "CAIRN_PASSWORD=s3 password", "CAIRN_REPOSITORY="+location)
}

func writeTree(t *testing.T, dir string, files int, size int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < files; i++ {
		data := make([]byte, size+r.IntN(size))
		for j := range data {
			if j%4 == 0 {
				data[j] = byte(r.Uint32())
			} else {
				data[j] = "abcdefgh"[j%8]
			}
		}
		put(t, filepath.Join(dir, fmt.Sprintf("d%d", i%4), fmt.Sprintf("f%03d", i)), string(data))
	}
}

func TestS3EndToEnd(t *testing.T) {
	env := s3Env(t, s3test.URL(t))
	mustRun(t, env, "init")
	src := t.TempDir()
	writeTree(t, src, 40, 60<<10, 1)
	mustRun(t, env, "backup", src)
	writeTree(t, src, 10, 60<<10, 2)
	mustRun(t, env, "backup", src)
	if n := snapshotCount(t, env); n != 2 {
		t.Fatalf("%d snapshots", n)
	}
	target := t.TempDir()
	mustRun(t, env, "restore", "latest:"+src, "--target", target, "--verify")
	sameTrees(t, src, target)
	mustRun(t, env, "check", "--read-data")
	mustRun(t, env, "forget", "--keep-last", "1", "--prune")
	if n := snapshotCount(t, env); n != 1 {
		t.Errorf("%d snapshots after forget", n)
	}
	mustRun(t, env, "check", "--read-data")
	if r := cairn(t, env, "init"); r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("second init on S3: %d %q", r.code, r.stderr)
	}
	if r := cairn(t, append(s3test.Env(t), "CAIRN_PASSWORD=x"), "-r", s3test.URL(t), "snapshots"); r.code != 10 {
		t.Errorf("missing bucket: exit %d (%s), want 10", r.code, r.stderr)
	}
	for _, o := range []string{mustRun(t, env, "-v", "snapshots"), mustRun(t, env, "cat", "config")} {
		if strings.Contains(o, os.Getenv("CAIRN_TEST_S3_SECRET_KEY")) {
			t.Error("the S3 secret key was printed")
		}
	}
}

// The 3-2-1 picture: back up locally, copy offsite to MinIO, keep both
// pruned and verified, and restore from the offsite copy alone.
func Test321(t *testing.T) {
	localEnv := []string{"CAIRN_PASSWORD=local password", "CAIRN_REPOSITORY=" + filepath.Join(t.TempDir(), "local")}
	offsite := s3test.URL(t)
	s3env := append(s3Env(t, offsite), "CAIRN_FROM_REPOSITORY="+strings.TrimPrefix(localEnv[1], "CAIRN_REPOSITORY="),
		"CAIRN_FROM_PASSWORD=local password")
	mustRun(t, localEnv, "init")
	mustRun(t, s3env, "init", "--copy-chunker-params")
	src := t.TempDir()
	for gen := 0; gen < 3; gen++ {
		writeTree(t, src, 20, 40<<10, uint64(10+gen))
		mustRun(t, localEnv, "backup", src)
		out := lastJSON(t, mustRun(t, s3env, "copy", "--json"))
		if out["snapshots_copied"] != 1.0 {
			t.Errorf("generation %d: copy %v", gen, out)
		}
	}
	if out := lastJSON(t, mustRun(t, s3env, "copy", "--json")); out["snapshots_copied"] != 0.0 || out["blobs_copied"] != 0.0 {
		t.Errorf("repeated copy did work: %v", out)
	}
	for _, env := range [][]string{localEnv, s3env} {
		mustRun(t, env, "forget", "--keep-last", "2", "--prune")
		mustRun(t, env, "check", "--read-data")
	}
	// The local repository is gone: restore from the offsite copy alone.
	if err := os.RemoveAll(strings.TrimPrefix(localEnv[1], "CAIRN_REPOSITORY=")); err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	mustRun(t, s3env, "restore", "latest:"+src, "--target", target, "--verify")
	sameTrees(t, src, target)
}

// TestCopyFromS3WithItsOwnCredentials copies from a MinIO repository into
// a local one whose process has no AWS_* variables: the source's
// credentials come from CAIRN_FROM_AWS_*.
func TestCopyFromS3WithItsOwnCredentials(t *testing.T) {
	offsite := s3test.URL(t)
	s3env := s3Env(t, offsite)
	mustRun(t, s3env, "init")
	src := t.TempDir()
	writeTree(t, src, 10, 20<<10, 3)
	mustRun(t, s3env, "backup", src)
	_, ak, sk := s3test.Server(t)
	env := []string{"CAIRN_PASSWORD=local", "CAIRN_REPOSITORY=" + filepath.Join(t.TempDir(), "local"),
		"CAIRN_FROM_REPOSITORY=" + offsite, "CAIRN_FROM_PASSWORD=s3 password"}
	mustRun(t, env, "init")
	if r := cairn(t, env, "copy"); r.code == 0 {
		t.Fatal("copy from S3 worked without any credentials")
	}
	env = append(env, "CAIRN_FROM_AWS_ACCESS_KEY_ID="+ak, "CAIRN_FROM_AWS_SECRET_ACCESS_KEY="+sk)
	if out := lastJSON(t, mustRun(t, env, "copy", "--json")); out["snapshots_copied"] != 1.0 {
		t.Errorf("copy: %v", out)
	}
	target := t.TempDir()
	mustRun(t, env, "restore", "latest:"+src, "--target", target, "--verify")
	sameTrees(t, src, target)
}

// faultProxy sits between cairn and MinIO and injects failures.
type faultProxy struct {
	t        *testing.T
	requests int // all requests seen; every tenth gets a 503
	puts     int // large uploads seen; every fifth is cut off
	rp       *httputil.ReverseProxy
	mu       sync.Mutex // guards rng, counts
	rng      *rand.Rand
	rate5xx  float64
	rateRST  float64
	rateSlow float64
	failPut  func(r *http.Request) bool
	counts   map[string]int
}

func startProxy(t *testing.T, p *faultProxy) string {
	t.Helper()
	endpoint, _, _ := s3test.Server(t)
	target, _ := url.Parse("http://" + endpoint)
	p.t, p.rp, p.counts = t, httputil.NewSingleHostReverseProxy(target), map[string]int{}
	p.rng = rand.New(rand.NewPCG(42, 42))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// roll decides a fault: with rate r, every round(1/r)-th call of the given
// counter, so a run always injects its share whatever the request order.
func (p *faultProxy) roll(rate float64, counter *int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rate <= 0 {
		return false
	}
	*counter++
	return *counter%int(1/rate+0.5) == 0
}

func (p *faultProxy) count(what string) {
	p.mu.Lock()
	p.counts[what]++
	p.mu.Unlock()
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case p.failPut != nil && p.failPut(r):
		p.count("failed put")
		p.serviceUnavailable(w)
	case p.roll(p.rate5xx, &p.requests):
		p.count("5xx")
		p.serviceUnavailable(w)
	case r.Method == http.MethodPut && r.ContentLength > 4096 && p.roll(p.rateRST, &p.puts):
		p.count("reset")
		_, _ = io.CopyN(io.Discard, r.Body, r.ContentLength/2)
		hj, ok := w.(http.Hijacker)
		if !ok {
			p.serviceUnavailable(w)
			return
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close with RST
			}
			_ = conn.Close()
		}
	default:
		p.mu.Lock()
		slow := float64(p.rng.IntN(1000)) < p.rateSlow*1000 || p.counts["slow"] == 0
		p.mu.Unlock()
		if slow {
			p.count("slow")
			time.Sleep(150 * time.Millisecond)
		}
		p.rp.ServeHTTP(w, r)
	}
}

func (p *faultProxy) serviceUnavailable(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected by the test proxy</Message></Error>`)
}

func TestS3Faults(t *testing.T) {
	p := &faultProxy{rate5xx: 0.10, rateRST: 0.20, rateSlow: 0.05}
	addr := startProxy(t, p)
	bucket := s3test.BucketName()
	env := s3Env(t, "s3:http://"+addr+"/"+bucket+"/repo")
	mustRun(t, env, "init", "--pack-size", "64KiB")
	src := t.TempDir()
	writeTree(t, src, 30, 100<<10, 7)
	mustRun(t, env, "backup", "--retry-timeout", "60s", src)
	// Verify through MinIO directly, without faults.
	endpoint, _, _ := s3test.Server(t)
	direct := s3Env(t, "s3:http://"+endpoint+"/"+bucket+"/repo")
	mustRun(t, direct, "check", "--read-data")
	target := t.TempDir()
	mustRun(t, direct, "restore", "latest:"+src, "--target", target, "--verify")
	sameTrees(t, src, target)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counts["5xx"] == 0 || p.counts["reset"] == 0 || p.counts["slow"] == 0 {
		t.Errorf("the proxy injected too little: %v", p.counts)
	}
	t.Logf("injected: %v", p.counts)
}

func TestS3RetriesExhausted(t *testing.T) {
	var failing sync.Map
	p := &faultProxy{failPut: func(r *http.Request) bool {
		_, on := failing.Load("on")
		return on && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/data/")
	}}
	addr := startProxy(t, p)
	env := s3Env(t, "s3:http://"+addr+"/"+s3test.BucketName()+"/repo")
	mustRun(t, env, "init")
	src := t.TempDir()
	writeTree(t, src, 5, 20<<10, 9)
	mustRun(t, env, "backup", src)
	writeTree(t, src, 5, 20<<10, 10)
	failing.Store("on", true)
	r := cairn(t, env, "backup", "--retry-timeout", "3s", src)
	if r.code == 0 || !strings.Contains(r.stderr, "giving up") {
		t.Errorf("backup with every upload failing: exit %d, %q", r.code, r.stderr)
	}
	failing.Delete("on")
	if n := snapshotCount(t, env); n != 1 {
		t.Errorf("%d snapshots; the failed backup must not add one", n)
	}
	if r := cairn(t, env, "check", "--json"); r.code != 0 {
		var rep map[string]any
		_ = json.Unmarshal([]byte(r.stdout), &rep)
		t.Errorf("check after a failed backup: %v %s", rep, r.stderr)
	}
}

// TestS3InitAndConnectionRetries: init retries the bucket check and its
// creation; a refused connection is retried for --retry-timeout with a
// line per retry (JSON under --json); wrong credentials fail at once.
func TestS3InitAndConnectionRetries(t *testing.T) {
	var bucketCalls atomic.Int32
	bucket := s3test.BucketName()
	p := &faultProxy{failPut: func(r *http.Request) bool {
		// The first three bucket requests (check, creation) get a 503.
		return strings.Trim(r.URL.Path, "/") == bucket && bucketCalls.Add(1) <= 3
	}}
	addr := startProxy(t, p)
	env := s3Env(t, "s3:http://"+addr+"/"+bucket+"/repo")
	r := cairn(t, env, "init")
	if r.code != 0 || !strings.Contains(r.stderr, "storage: create bucket failed") {
		t.Fatalf("init behind 503s: exit %d\n%s", r.code, r.stderr)
	}
	mustRun(t, env, "snapshots")

	// Nothing listens on a closed port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close()
	down := s3Env(t, "s3:http://"+closed+"/"+bucket+"/repo")
	start := time.Now()
	r = cairn(t, down, "snapshots", "--retry-timeout", "3s")
	if r.code != 1 || strings.Count(r.stderr, "storage: stat config failed") < 2 || !strings.Contains(r.stderr, "connection refused") {
		t.Errorf("unreachable endpoint: exit %d after %v\n%s", r.code, time.Since(start), r.stderr)
	}
	r = cairn(t, down, "snapshots", "--retry-timeout", "1s", "--json")
	var msg message.Retry
	line, _, _ := strings.Cut(r.stderr, "\n")
	if err := json.Unmarshal([]byte(line), &msg); err != nil || msg.MessageType != "retry" || msg.Item != "config" {
		t.Errorf("--json retry line %q: %v", line, err)
	}

	// Wrong credentials: no retries, one sentence.
	endpoint, ak, _ := s3test.Server(t)
	bad := []string{"AWS_ACCESS_KEY_ID=" + ak, "AWS_SECRET_ACCESS_KEY=wrong-secret", "CAIRN_PASSWORD=x",
		"CAIRN_REPOSITORY=s3:http://" + endpoint + "/" + bucket + "/repo"}
	r = cairn(t, bad, "snapshots", "--retry-timeout", "30s")
	if r.code != 1 || strings.Contains(r.stderr, "retrying") {
		t.Errorf("wrong secret: exit %d\n%s", r.code, r.stderr)
	}
}

// TestConfiguredReposKeepTheirOwnCredentials: opening configured
// repositories one after another (audit, gate) gives each its own
// credentials; one without a credentials file never borrows the keys of
// the one opened before, and nothing lands in the process environment.
func TestConfiguredReposKeepTheirOwnCredentials(t *testing.T) {
	endpoint, ak, sk := s3test.Server(t)
	dir := t.TempDir()
	put(t, filepath.Join(dir, "pw"), "pw\n")
	put(t, filepath.Join(dir, "creds"), "AWS_ACCESS_KEY_ID="+ak+"\nAWS_SECRET_ACCESS_KEY="+sk+"\n")
	a := "s3:http://" + endpoint + "/" + s3test.BucketName() + "/a"
	b := "s3:http://" + endpoint + "/" + s3test.BucketName() + "/b"
	for _, u := range []string{a, b} {
		mustRun(t, append(s3test.Env(t), "CAIRN_PASSWORD=pw"), "-r", u, "init")
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	var stderr bytes.Buffer
	g := &globals{stdout: io.Discard, stderr: &stderr, retryTimeout: time.Second, s3Addressing: "auto"}
	ctx := context.Background()
	ra, err := g.openConfigured(ctx, &config.Repository{Name: "a", URL: a, PasswordFile: filepath.Join(dir, "pw"), S3CredentialsFile: filepath.Join(dir, "creds")})
	if err != nil {
		t.Fatalf("repository with its credentials file: %v", err)
	}
	_ = ra.Close()
	if _, err := g.openConfigured(ctx, &config.Repository{Name: "b", URL: b, PasswordFile: filepath.Join(dir, "pw")}); err == nil {
		t.Error("a repository without credentials opened with the keys of the one before")
	}
	if os.Getenv("AWS_SECRET_ACCESS_KEY") != "" {
		t.Error("credentials leaked into the process environment")
	}
}

// TestS3ExtendedOptions: -o options reach the S3 backend (the storage
// class of every object is the one asked for), and an unknown one is
// refused in one sentence.
func TestS3ExtendedOptions(t *testing.T) {
	url := s3test.URL(t)
	env := s3Env(t, url)
	opts := []string{"-o", "s3.bucket-lookup=path", "-o", "s3.region=us-east-1", "-o", "s3.connections=4", "-o", "s3.storage-class=REDUCED_REDUNDANCY"}
	mustRun(t, env, append(opts, "init")...)
	src := t.TempDir()
	writeTree(t, src, 5, 20<<10, 3)
	mustRun(t, env, append(opts, "backup", src)...)
	mustRun(t, env, append(opts, "check", "--read-data")...)

	endpoint, ak, sk := s3test.Server(t)
	bucket := strings.SplitN(strings.TrimPrefix(url, "s3:http://"+endpoint+"/"), "/", 2)[0]
	mc, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, "")})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for obj := range mc.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "repo/data/"}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		info, err := mc.StatObject(context.Background(), bucket, obj.Key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if class := info.Metadata.Get("X-Amz-Storage-Class"); class != "REDUCED_REDUNDANCY" {
			t.Errorf("%s has storage class %q", obj.Key, class)
		}
		n++
	}
	if n == 0 {
		t.Error("no pack was stored")
	}
	r := cairn(t, env, "-o", "s3.colour=blue", "snapshots")
	if r.code != 1 || !strings.Contains(r.stderr, "-o s3.colour: unknown option (known: s3.region") {
		t.Errorf("unknown option: exit %d\n%s", r.code, r.stderr)
	}
}

// TestS3Cache: an S3 repository's keys, index and snapshots are cached
// locally (--cache-dir), and a later command works from the copies; check
// reads the storage itself, so a damaged remote index file is reported
// although the cache holds it intact (check --with-cache would not see it).
func TestS3Cache(t *testing.T) {
	url := s3test.URL(t)
	cacheDir := t.TempDir()
	env := append(s3Env(t, url), "CAIRN_CACHE_DIR="+cacheDir)
	mustRun(t, env, "init")
	src := t.TempDir()
	writeTree(t, src, 8, 20<<10, 4)
	mustRun(t, env, "backup", src)
	count := func(kind string) int {
		t.Helper()
		m, _ := filepath.Glob(filepath.Join(cacheDir, "*", kind, "*"))
		return len(m)
	}
	if count("index") == 0 || count("snapshots") != 1 || count("keys") != 1 {
		t.Fatalf("cached: %d index files, %d snapshots, %d keys", count("index"), count("snapshots"), count("keys"))
	}
	if _, err := os.Stat(filepath.Join(cacheDir, "CACHEDIR.TAG")); err != nil {
		t.Errorf("no CACHEDIR.TAG: %v", err)
	}
	noCache := t.TempDir()
	if out := mustRun(t, append(env, "CAIRN_CACHE_DIR="+noCache), "--no-cache", "snapshots"); !strings.Contains(out, "1 snapshot\n") {
		t.Errorf("snapshots --no-cache:\n%s", out)
	}
	if m, _ := filepath.Glob(filepath.Join(noCache, "*")); len(m) != 0 {
		t.Errorf("--no-cache wrote %v", m)
	}

	// Damage the remote index file behind the cache's back.
	endpoint, ak, sk := s3test.Server(t)
	bucket := strings.SplitN(strings.TrimPrefix(url, "s3:http://"+endpoint+"/"), "/", 2)[0]
	mc, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var key string
	for obj := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, Prefix: "repo/index/"}) {
		key = obj.Key
	}
	garbage := strings.Repeat("x", 100)
	if _, err := mc.PutObject(ctx, bucket, key, strings.NewReader(garbage), int64(len(garbage)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, env, "ls", "latest"); !strings.Contains(out, "f000") {
		t.Errorf("ls from the cache:\n%s", out)
	}
	if r := cairn(t, env, "check", "--with-cache"); r.code != 0 {
		t.Errorf("check --with-cache: exit %d (the cached copy is intact)\n%s", r.code, r.stderr)
	}
	if r := cairn(t, env, "check"); r.code != 1 || !strings.Contains(r.stderr, "index/") {
		t.Errorf("check of a damaged remote index: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// cache lists the repository's cache; --cleanup removes unused ones.
	var list message.CacheList
	if err := strictJSON(mustRun(t, env, "cache", "--json"), &list); err != nil || len(list.Caches) != 1 || list.Caches[0].Files < 3 || list.Dir != cacheDir {
		t.Fatalf("cache --json: %v %+v", err, list)
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(filepath.Join(cacheDir, list.Caches[0].Name), old, old); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, env, "cache", "--cleanup", "--max-age", "1"); !strings.Contains(out, "removed "+list.Caches[0].Name) || !strings.Contains(out, "no repository caches") {
		t.Errorf("cache --cleanup:\n%s", out)
	}
}
