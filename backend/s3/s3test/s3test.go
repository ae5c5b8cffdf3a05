// Package s3test gives tests a bucket on the MinIO server that
// scripts/minio.sh started for them (make test does this). Without one, a
// test fails in CI and skips with one line elsewhere.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/cairn-backup/cairn/backend/s3"
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
