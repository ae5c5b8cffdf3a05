package s3_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/backendtest"
	"github.com/cairn-backup/cairn/backend/s3"
	"github.com/cairn-backup/cairn/backend/s3/s3test"
)

func TestConformance(t *testing.T) {
	for _, prefix := range []string{"", "some/prefix"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			backendtest.Run(t, func(t *testing.T) backend.Backend {
				be, err := s3.Open(s3test.Config(t, prefix))
				if err != nil {
					t.Fatal(err)
				}
				return be
			})
		})
	}
}

func TestParseURL(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AK")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SK")
	t.Setenv("AWS_DEFAULT_REGION", "eu-west-1")
	c, err := s3.ParseURL("s3:https://s3.example.com:9000/bucket/a/b/")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Secure || c.Endpoint != "s3.example.com:9000" || c.Bucket != "bucket" || c.Prefix != "a/b" ||
		c.AccessKey != "AK" || c.SecretKey != "SK" || c.Region != "eu-west-1" {
		t.Errorf("ParseURL = %+v", c)
	}
	for _, bad := range []string{"s3:", "s3:host/bucket", "s3:http://", "s3:http://host", "s3:http://host/", "local:/x"} {
		if _, err := s3.ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		}
	}
}

func TestWrongCredentialsArePermanent(t *testing.T) {
	cfg := s3test.Config(t, "")
	cfg.SecretKey = "wrong-secret"
	be, err := s3.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = be.Save(context.Background(), backend.Handle{Type: backend.Key, Name: "abcdef"}, []byte("x"))
	if err == nil || !backend.IsPermanent(err) {
		t.Errorf("save with a wrong secret: %v, want a permanent error", err)
	}
	if errors.Is(err, backend.ErrNotExist) {
		t.Error("wrong credentials reported as not found")
	}
}

// TestMultipartAndPaging stores a pack above the multipart threshold and
// more objects than one listing page holds.
func TestMultipartAndPaging(t *testing.T) {
	ctx := context.Background()
	be, err := s3.Open(s3test.Config(t, "p"))
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 40<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	h := backend.Handle{Type: backend.Pack, Name: "aabbccddeeff"}
	if err := be.Save(ctx, h, big); err != nil {
		t.Fatal(err)
	}
	got, err := backend.ReadAll(ctx, be, h, 30<<20, 1000)
	if err != nil || string(got) != string(big[30<<20:30<<20+1000]) {
		t.Fatalf("range read of a multipart object: %v", err)
	}
	for i := 0; i < 1100; i++ {
		if err := be.Save(ctx, backend.Handle{Type: backend.Snapshot, Name: "snap" + strconv.Itoa(i)}, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	names, err := backend.Names(ctx, be, backend.Snapshot)
	if err != nil || len(names) != 1100 {
		t.Errorf("listed %d of 1100 objects (%v): paging lost some", len(names), err)
	}
}

// InsecureTLS accepts a server whose certificate no CA signed; without it
// the same server is refused.
func TestInsecureTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3")
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		w.Header().Set("ETag", `"abc"`)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	cfg := s3.Config{Endpoint: strings.TrimPrefix(srv.URL, "https://"), Secure: true, Bucket: "bucket", AccessKey: "a", SecretKey: "s",
		Addressing: "path", Region: "us-east-1"}
	ctx := context.Background()
	be, err := s3.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := be.Stat(ctx, backend.Handle{Type: backend.Config}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a self-signed certificate was accepted without InsecureTLS: %v", err)
	}
	cfg.InsecureTLS = true
	if be, err = s3.Open(cfg); err != nil {
		t.Fatal(err)
	}
	if fi, err := be.Stat(ctx, backend.Handle{Type: backend.Config}); err != nil || fi.Size != 3 {
		t.Errorf("InsecureTLS: %+v, %v", fi, err)
	}
}
