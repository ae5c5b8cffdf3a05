// Package mount serves a repository's snapshots as a read-only FUSE file
// system, laid out as restic's mount is:
//
//	snapshots/<time>/     every snapshot, by its time, and a "latest" link
//	ids/<short id>/       every snapshot by its ID
//	hosts/<host>/<time>/  per host, with "latest"
//	tags/<tag>/<time>/    per tag, with "latest"
//
// Inside a snapshot are its stored paths with their modes, owners, times,
// sizes, link counts, symlinks, device numbers and extended attributes.
// Files are read by range: a read loads only the blobs that hold the bytes
// asked for, through a cache of recently used blobs and trees bounded in
// bytes. Damaged data is an I/O error on that file alone, logged with its
// path. Names a restore would refuse are never shown. New snapshots
// appear when a listing is older than the refresh interval; the index is
// read again when its files changed, and a read whose pack is gone (a
// prune moved its blob) reads it again and retries once.
package mount
