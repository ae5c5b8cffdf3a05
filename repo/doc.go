// Package repo ties the layers together into a repository: Init and Open
// (keys, config, index), saving blobs into packs and flushing packs and
// index files, loading blobs, and key management.
//
// Terms: the config holds the repository ID, chunker parameters and pack
// size; a packer gathers blobs of one type until a pack is full; a flush
// uploads a pack and records its blobs in the in-memory index; writing the
// index stores an index file naming every pack uploaded since the last one.
// The ordering rules of doc/design.md §12 are implemented here.
package repo
