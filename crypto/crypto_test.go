package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/blob"
)

// testKDF keeps tests fast; real key files use DefaultKDF.
var testKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func newKey(t testing.TB) *Key {
	t.Helper()
	k, err := NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestIDIsKeyed(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	data := []byte("a known file")
	first := k1.ID(data)
	if again := k1.ID(data); again != first {
		t.Fatal("ID is not deterministic")
	}
	if k1.ID(data) == k2.ID(data) {
		t.Error("different keys give the same ID")
	}
	if k1.ID(data) == Hash(data) {
		t.Error("keyed ID equals the unkeyed hash")
	}
	// The pooled hasher is reset between uses.
	_ = k1.ID([]byte("other"))
	if again := k1.ID(data); again != first {
		t.Error("pooled hasher leaks state")
	}
	if got := fmt.Sprint(k1); got != "crypto.Key(redacted)" {
		t.Errorf("key prints as %q", got)
	}
}

func TestEnvelope(t *testing.T) {
	k := newKey(t)
	msg := []byte("snapshot payload")
	env, err := k.Seal(KindSnapshot, msg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Open(KindSnapshot, env)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(KindIndex, env); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open with wrong kind: %v", err)
	}
	// Changing the kind byte in storage must not pass authentication.
	forged := bytes.Clone(env)
	forged[1] = KindIndex
	if _, err := k.Open(KindIndex, forged); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open of re-kinded envelope: %v", err)
	}
	for i := range env {
		bad := bytes.Clone(env)
		bad[i] ^= 0x10
		if _, err := k.Open(KindSnapshot, bad); err == nil {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
	if _, err := newKey(t).Open(KindSnapshot, env); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open with another key: %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	master := newKey(t)
	meta := KeyMeta{Created: time.Unix(1700000000, 5).UTC(), Host: "host", User: "user"}
	data, err := NewKeyFile(master, []byte("secret"), testKDF, meta)
	if err != nil {
		t.Fatal(err)
	}
	kf, err := ParseKeyFile(data)
	if err != nil {
		t.Fatal(err)
	}
	if kf.Params != testKDF {
		t.Errorf("params = %+v, want %+v", kf.Params, testKDF)
	}
	got, err := kf.Unlock([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if got.enc != master.enc || got.id != master.id {
		t.Error("unwrapped key differs")
	}
	if _, err := kf.Unlock([]byte("wrong")); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
	m, err := kf.Meta(got)
	if err != nil || m != meta {
		t.Errorf("Meta = %+v, %v; want %+v", m, err, meta)
	}
	if bytes.Contains(data, []byte("host")) || bytes.Contains(data, []byte("user")) {
		t.Error("key file holds metadata in clear")
	}
}

func TestKDFValidate(t *testing.T) {
	tests := []struct {
		p  KDFParams
		ok bool
	}{
		{DefaultKDF, true},
		{testKDF, true},
		{KDFParams{Time: 1, MemoryKiB: 5 << 20, Threads: 1}, false},
		{KDFParams{Time: 0, MemoryKiB: 64, Threads: 1}, false},
		{KDFParams{Time: 1, MemoryKiB: 64, Threads: 0}, false},
		{KDFParams{Time: 1000, MemoryKiB: 64, Threads: 1}, false},
		{KDFParams{Time: 1, MemoryKiB: 7, Threads: 1}, false},
	}
	for _, tt := range tests {
		if err := tt.p.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tt.p, err, tt.ok)
		}
	}
}

// An absurd memory parameter in a stored key file is refused while parsing,
// before argon2 allocates anything.
func TestKeyFileAbsurdParams(t *testing.T) {
	data, err := NewKeyFile(newKey(t), []byte("pw"), testKDF, KeyMeta{})
	if err != nil {
		t.Fatal(err)
	}
	data[10], data[11], data[12], data[13] = 0xff, 0xff, 0xff, 0xff
	if _, err := ParseKeyFile(data); !errors.Is(err, ErrCorrupt) {
		t.Errorf("ParseKeyFile with 4 TiB memory: %v", err)
	}
}

func TestPackAEADNonces(t *testing.T) {
	k := newKey(t)
	var salt [PackSaltSize]byte
	aead := k.PackAEAD(salt)
	id := k.ID([]byte("x"))
	ct := aead.Seal(nil, OffsetNonce(0), []byte("x"), BlobAD(blob.Data, id))
	if _, err := aead.Open(nil, OffsetNonce(0), ct, BlobAD(blob.Tree, id)); err == nil {
		t.Error("blob opened as another type")
	}
	if _, err := aead.Open(nil, OffsetNonce(17), ct, BlobAD(blob.Data, id)); err == nil {
		t.Error("blob opened at another offset")
	}
	salt[0] = 1
	if _, err := k.PackAEAD(salt).Open(nil, OffsetNonce(0), ct, BlobAD(blob.Data, id)); err == nil {
		t.Error("blob opened in another pack")
	}
	if bytes.Equal(HeaderNonce(), OffsetNonce(0xffffffff)) {
		t.Error("header nonce collides with an offset nonce")
	}
}

func FuzzParseKeyFile(f *testing.F) {
	k := newKey(f)
	data, err := NewKeyFile(k, []byte("pw"), testKDF, KeyMeta{Host: "h"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:50])
	f.Add([]byte("CRNK"))
	f.Fuzz(func(t *testing.T, data []byte) {
		kf, err := ParseKeyFile(data)
		if err != nil {
			return
		}
		if kf.Params.MemoryKiB > 1<<16 {
			return // valid but too slow for a fuzz iteration
		}
		if key, err := kf.Unlock([]byte("pw")); err == nil {
			_, _ = kf.Meta(key)
		}
	})
}

func FuzzOpenEnvelope(f *testing.F) {
	k := newKey(f)
	env, _ := k.Seal(KindIndex, []byte("payload"))
	f.Add(env)
	f.Add([]byte{1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		pt, err := k.Open(KindIndex, data)
		if err == nil && !bytes.Equal(data, env) {
			t.Fatalf("forged envelope opened: %q", pt)
		}
	})
}

const benchSize = 1 << 20

func BenchmarkID(b *testing.B) {
	k := newKey(b)
	buf := make([]byte, benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		_ = k.ID(buf)
	}
}

// BenchmarkSeal measures the chosen AEAD (AES-256-GCM) against the other
// candidate, so the choice in doc/design.md §1 can be re-checked.
func BenchmarkSeal(b *testing.B) {
	k := newKey(b)
	buf := make([]byte, benchSize)
	out := make([]byte, 0, benchSize+Overhead)
	b.Run("AES-256-GCM", func(b *testing.B) {
		aead := k.PackAEAD([PackSaltSize]byte{})
		b.SetBytes(benchSize)
		for b.Loop() {
			out = aead.Seal(out[:0], OffsetNonce(0), buf, nil)
		}
	})
	b.Run("XChaCha20-Poly1305", func(b *testing.B) {
		aead := xchacha(b)
		nonce := make([]byte, aead.NonceSize())
		b.SetBytes(benchSize)
		for b.Loop() {
			out = aead.Seal(out[:0], nonce, buf, nil)
		}
	})
}
