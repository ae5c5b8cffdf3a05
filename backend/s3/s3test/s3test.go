// Package s3test gives tests a bucket on the MinIO server that
// scripts/minio.sh started for them (make test does this). Without one, a
// test fails in CI and skips with one line elsewhere.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"github.com/cairn-backup/cairn/backend/s3"
	"github.com/minio/madmin-go/v3"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Server returns the test server's endpoint and credentials, or ends the
// test when there is none.
func Server(t testing.TB) (endpoint, accessKey, secretKey string) {
	t.Helper()
	endpoint = os.Getenv("CAIRN_TEST_S3_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CAIRN_TEST_S3_ENDPOINT is unset: run the tests through scripts/minio.sh (make test does)")
		}
		t.Skip("no MinIO server: run the tests through scripts/minio.sh (make test does) to include S3")
	}
	return endpoint, os.Getenv("CAIRN_TEST_S3_ACCESS_KEY"), os.Getenv("CAIRN_TEST_S3_SECRET_KEY")
}

// BucketName returns a new unique bucket name.
func BucketName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "cairn-test-" + hex.EncodeToString(b)
}

// Config returns the configuration of a new, empty bucket on the test
// server (created), with an optional prefix.
func Config(t testing.TB, prefix string) s3.Config {
	t.Helper()
	endpoint, ak, sk := Server(t)
	cfg := s3.Config{Endpoint: endpoint, Bucket: BucketName(), Prefix: prefix, AccessKey: ak, SecretKey: sk, Addressing: "path"}
	be, err := s3.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := be.Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Env returns the environment variables that give cairn the test server's
// credentials.
func Env(t testing.TB) []string {
	t.Helper()
	_, ak, sk := Server(t)
	return []string{"AWS_ACCESS_KEY_ID=" + ak, "AWS_SECRET_ACCESS_KEY=" + sk}
}

// URL returns an s3: repository location on the test server for a new
// bucket (not yet created: cairn init creates it).
func URL(t testing.TB) string {
	t.Helper()
	endpoint, _, _ := Server(t)
	return "s3:http://" + endpoint + "/" + BucketName() + "/repo"
}

// AppendOnlyUser creates, on the test server, a user whose policy lets it
// list, read and write objects of bucket but denies deleting objects,
// changing their retention and bypassing governance retention: the
// credentials of a machine that only backs up (the bucket's default
// retention locks what it writes). It returns the user's keys.
func AppendOnlyUser(t testing.TB, bucket string) (accessKey, secretKey string) {
	t.Helper()
	endpoint, ak, sk := Server(t)
	adm, err := madmin.NewWithOptions(endpoint, &madmin.Options{Creds: credentials.NewStaticV4(ak, sk, "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	accessKey, secretKey = "append-"+hex.EncodeToString(b), "secret-"+hex.EncodeToString(b)
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":["s3:GetBucketLocation","s3:ListBucket","s3:ListBucketVersions","s3:GetBucketObjectLockConfiguration"],"Resource":["arn:aws:s3:::%[1]s"]},
 {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:GetObjectRetention"],"Resource":["arn:aws:s3:::%[1]s/*"]},
 {"Effect":"Deny","Action":["s3:DeleteObject","s3:DeleteObjectVersion","s3:PutObjectRetention","s3:BypassGovernanceRetention"],"Resource":["arn:aws:s3:::%[1]s/*"]}]}`, bucket)
	name := "append-only-" + hex.EncodeToString(b)
	if err := adm.AddCannedPolicy(ctx, name, []byte(policy)); err != nil {
		t.Fatalf("add policy: %v", err)
	}
	if err := adm.AddUser(ctx, accessKey, secretKey); err != nil {
		t.Fatalf("add user: %v", err)
	}
	if _, err := adm.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{name}, User: accessKey}); err != nil {
		t.Fatalf("attach policy: %v", err)
	}
	return accessKey, secretKey
}
