package crypto

import (
	"crypto/cipher"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

func xchacha(tb testing.TB) cipher.AEAD {
	aead, err := chacha20poly1305.NewX(make([]byte, chacha20poly1305.KeySize))
	if err != nil {
		tb.Fatal(err)
	}
	return aead
}
