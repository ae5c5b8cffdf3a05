// Package index maps blob handles to where they are stored: pack, offset and
// lengths. It encodes and decodes index files (doc/design.md §8) and keeps
// the in-memory index compact: per blob 46 bytes (a 30-byte ID suffix under a
// 2-byte bucket prefix, pack number, offset and two lengths), per pack 48
// bytes (name and salt).
//
// Terms: a Location is everything needed to read one blob with a single
// range request. A table holds one blob type, sorted by ID within 65,536
// buckets; blobs added one pack at a time wait in a small map until Compact
// merges them.
package index
