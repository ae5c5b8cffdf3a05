package s3_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/s3"
	"github.com/cairn-backup/cairn/backend/s3/s3test"
)

// ClientCert authenticates to a server that requires TLS client
// certificates: a TLS proxy in front of the real MinIO that admits only
// certificates of its own CA. Without the certificate the same server
// refuses the connection.
func TestClientCert(t *testing.T) {
	cfg := s3test.Config(t, "mtls")
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "test CA", true)
	client, clientKey := newCert(t, ca, caKey, "cairn client", false)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	certFile := filepath.Join(dir, "client.pem")
	writePEM(t, certFile, client.Raw, clientKey)

	target, err := url.Parse("http://" + cfg.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	// The proxy keeps the Host header the client signed.
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}}
	srv := httptest.NewUnstartedServer(proxy)
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	serverCA := filepath.Join(dir, "server-ca.pem")
	if err := os.WriteFile(serverCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	via := cfg
	via.Endpoint, via.Secure, via.CACert = strings.TrimPrefix(srv.URL, "https://"), true, serverCA
	h := backend.Handle{Type: backend.Snapshot, Name: "aabb"}
	be, err := s3.Open(via)
	if err != nil {
		t.Fatal(err)
	}
	if err := be.Save(ctx, h, []byte("x")); err == nil {
		t.Fatal("a server that requires a client certificate accepted a request without one")
	}
	via.ClientCert = certFile
	if be, err = s3.Open(via); err != nil {
		t.Fatal(err)
	}
	if err := be.Save(ctx, h, []byte("through mTLS")); err != nil {
		t.Fatalf("save with the client certificate: %v", err)
	}
	if got, err := backend.ReadAll(ctx, be, h, 0, 0); err != nil || string(got) != "through mTLS" {
		t.Errorf("read back %q, %v", got, err)
	}
	bad := via
	bad.ClientCert = serverCA // a certificate without its key
	if _, err := s3.Open(bad); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Errorf("a PEM file without a key: %v", err)
	}
}

func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, name string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: isCA, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func writePEM(t *testing.T, name string, certDER []byte, key *ecdsa.PrivateKey) {
	t.Helper()
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...)
	if err := os.WriteFile(name, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
