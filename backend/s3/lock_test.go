package s3_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/s3"
	"github.com/cairn-backup/cairn/backend/s3/s3test"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// lockedBucket opens a new bucket created with object locking.
func lockedBucket(t *testing.T, now func() time.Time) (*s3.Backend, s3.Config) {
	t.Helper()
	endpoint, ak, sk := s3test.Server(t)
	cfg := s3.Config{Endpoint: endpoint, Bucket: s3test.BucketName(), Prefix: "repo", AccessKey: ak, SecretKey: sk,
		Addressing: "path", ObjectLock: true, Now: now}
	be, err := s3.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := be.Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	return be, cfg
}

// Objects saved under a retention cannot be removed or overwritten until
// it runs out; Retain extends it and never shortens it.
func TestObjectLockRetention(t *testing.T) {
	ctx := context.Background()
	be, cfg := lockedBucket(t, nil)
	be.SetRetention("governance", time.Hour)
	h := backend.Handle{Type: backend.Pack, Name: "aabbccddeeff0011"}
	if err := be.Save(ctx, h, []byte("locked pack")); err != nil {
		t.Fatal(err)
	}
	r, err := be.Retention(ctx, h)
	if err != nil || r.Mode != "governance" || r.Until.Before(time.Now().Add(59*time.Minute)) || r.Until.After(time.Now().Add(62*time.Minute)) {
		t.Fatalf("retention %+v, %v; want governance for an hour", r, err)
	}
	if err := be.Remove(ctx, h); !errors.Is(err, backend.ErrLocked) || !backend.IsPermanent(err) {
		t.Errorf("remove of a locked object: %v, want a permanent ErrLocked", err)
	}
	if got, err := backend.ReadAll(ctx, be, h, 0, 0); err != nil || string(got) != "locked pack" {
		t.Errorf("after a refused remove: %q, %v", got, err)
	}
	later := r.Until.Add(24 * time.Hour)
	if err := be.Retain(ctx, h, later); err != nil {
		t.Fatal(err)
	}
	if r2, _ := be.Retention(ctx, h); r2.Until.Before(later) {
		t.Errorf("retention after Retain: %v, want at least %v", r2.Until, later)
	}
	if err := be.Retain(ctx, h, time.Now().Add(time.Minute)); err != nil {
		t.Errorf("Retain to an earlier time: %v (it must keep the later one)", err)
	}
	if r3, _ := be.Retention(ctx, h); r3.Until.Before(later) {
		t.Errorf("Retain shortened the retention to %v", r3.Until)
	}

	// An object whose retention ran out is removed with all its versions,
	// so its space is freed, not hidden behind a delete marker. The clock
	// makes its retention end a second from now; the test then waits for
	// the server's clock to pass it (the lapse itself is what is tested).
	soon := backend.Handle{Type: backend.Pack, Name: "ffeeddccbbaa9988"}
	cfg.Now = func() time.Time { return time.Now().Add(-time.Hour + time.Second) }
	short, err := s3.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	short.SetRetention("governance", time.Hour)
	if err := short.Save(ctx, soon, []byte("short")); err != nil {
		t.Fatal(err)
	}
	rs, _ := short.Retention(ctx, soon)
	time.Sleep(time.Until(rs.Until) + 200*time.Millisecond)
	if err := short.Remove(ctx, soon); err != nil {
		t.Fatalf("remove after the retention ran out: %v", err)
	}
	mc, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	for o := range mc.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Prefix: "repo/data/ff", WithVersions: true, Recursive: true}) {
		t.Errorf("left behind: %s version %s (delete marker %v)", o.Key, o.VersionID, o.IsDeleteMarker)
	}
}
