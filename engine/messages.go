package engine

import (
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/snapshot"
)

// SnapshotMessage is a snapshot as snapshots --json prints it.
func SnapshotMessage(s *snapshot.Snapshot) message.Snapshot {
	out := message.Snapshot{ID: s.ID.String(), ShortID: s.ID.Short(), Time: s.Time, Tree: s.Tree.String(),
		Paths: nonNil(s.Paths), Hostname: s.Host, Username: s.User, UID: s.UID, GID: s.GID,
		Tags: nonNil(s.Tags), ProgramVersion: s.Program}
	if !s.Parent.IsZero() {
		out.Parent = s.Parent.String()
	}
	if !s.Original.IsZero() {
		out.Original = s.Original.String()
	}
	if sum := s.Summary; sum != nil {
		out.Summary = &message.SnapshotSummary{BackupStart: sum.BackupStart, BackupEnd: sum.BackupEnd,
			FilesNew: sum.FilesNew, FilesChanged: sum.FilesChanged, FilesUnmodified: sum.FilesUnmodified,
			DirsNew: sum.DirsNew, DirsChanged: sum.DirsChanged, DirsUnmodified: sum.DirsUnmodified,
			DataBlobs: sum.DataBlobs, TreeBlobs: sum.TreeBlobs, DataAdded: sum.DataAdded, DataAddedPacked: sum.DataAddedPacked,
			TotalFilesProcessed: sum.TotalFilesProcessed, TotalBytesProcessed: sum.TotalBytesProcessed}
	}
	return out
}

// NodeMessage is an entry at path p as ls --json prints it.
func NodeMessage(p string, n *snapshot.Node) message.Node {
	out := message.Node{StructType: "node", Name: n.Name, Type: n.Type.String(), Path: p,
		UID: n.UID, GID: n.GID, User: n.User, Group: n.Group, Mode: uint32(n.FileMode()),
		Permissions: n.FileMode().String(), MTime: n.ModTime, CTime: n.ChangeTime, Inode: n.Inode}
	if n.Type == snapshot.TypeFile {
		size := n.Size
		out.Size = &size
	}
	if n.Type == snapshot.TypeSymlink {
		target := n.LinkTarget
		out.LinkTarget = &target
	}
	return out
}
