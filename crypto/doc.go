// Package crypto holds cairn's keys and everything that seals or names data
// with them.
//
// Terms: the master key is 64 random bytes made at init, split into an
// encryption key (never used directly) and an ID key (keys BLAKE3 for blob
// IDs). Object keys are derived from the encryption key with HKDF-SHA256 and
// a random salt per pack or per file; they seal with AES-256-GCM. A key file
// wraps the master key under a key derived from a password with argon2id. An
// envelope is the sealed form of a small file (config, index, snapshot,
// lock, record). doc/design.md §2, §4 and §6 specify the bytes.
package crypto
