// Package pack reads and writes pack files, the way archive/tar reads and
// writes tar files: a Writer over an io.Writer adds sealed blobs one after
// another and ends with an encrypted header and a trailer; a Reader over an
// io.ReaderAt reads the header back and opens blobs.
//
// Terms: a blob's payload is its plaintext, zstd-compressed when that is
// smaller; sealing encrypts and authenticates the payload with the pack's
// AES-256-GCM key, using the blob's offset as nonce and its type and ID as
// associated data. doc/design.md §7 gives the bytes.
package pack
