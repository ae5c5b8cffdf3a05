// Package snapshot defines what a backup stores about files and how it is
// made and brought back.
//
// Terms: a Node describes one directory entry (its type, metadata, and
// either its content blob IDs, its subtree, or its link target). A Tree is
// the sorted list of nodes of one directory, stored as one tree blob with a
// deterministic encoding, so identical directories deduplicate. A Snapshot
// names a root tree with its time, host, paths, tags, parent and summary.
// The Archiver turns paths on disk into trees; the Restorer turns a tree back
// into files under a target directory. Both are written against small
// interfaces (BlobSaver, BlobLoader) declared here, not against the
// repository. doc/design.md §9 gives the encodings.
package snapshot
