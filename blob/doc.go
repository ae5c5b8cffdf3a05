// Package blob defines the identity of stored content: a blob is a chunk of
// file data or an encoded directory tree, identified by the keyed BLAKE3 hash
// of its plaintext (an ID) and its Type. A Handle pairs the two.
package blob
