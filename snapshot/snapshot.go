package snapshot

import (
	"fmt"
	"sort"
	"time"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/wire"
	"google.golang.org/protobuf/encoding/protowire"
)

// Summary records what a backup did. Field names follow restic's JSON
// summary so dashboards carry over.
type Summary struct {
	BackupStart         time.Time
	BackupEnd           time.Time
	FilesNew            uint64
	FilesChanged        uint64
	FilesUnmodified     uint64
	DirsNew             uint64
	DirsChanged         uint64
	DirsUnmodified      uint64
	DataBlobs           uint64 // new data blobs
	TreeBlobs           uint64 // new tree blobs
	DataAdded           uint64 // plaintext bytes of new blobs
	TotalFilesProcessed uint64
	TotalBytesProcessed uint64
	BytesRead           uint64 // file bytes actually read (unchanged files are not)
	ErrorCount          uint64 // files or directories that could not be read
	DataAddedPacked     uint64 // stored (compressed, sealed) bytes of the new blobs
}

// Snapshot is one backup: a root tree and where it came from.
type Snapshot struct {
	ID       blob.ID // the snapshot file's name; not encoded
	Time     time.Time
	Tree     blob.ID
	Parent   blob.ID // zero if none
	Original blob.ID // for a rewritten snapshot (tags changed, repaired), the one it replaces
	Host     string
	User     string
	UID, GID uint32
	Paths    []string
	Tags     []string
	Program  string // "cairn VERSION"
	Summary  *Summary
}

// HasTag reports whether the snapshot carries tag.
func (s *Snapshot) HasTag(tag string) bool {
	for _, t := range s.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

const snapshotVersion = 1

// Snapshot fields (doc/design.md §9). The numbers are the stored format:
// never renumber, never reuse one.
const (
	sVersion  = 1
	sTime     = 2
	sTree     = 3
	sParent   = 4
	sHost     = 5
	sUser     = 6
	sUID      = 7
	sGID      = 8
	sPaths    = 9
	sTags     = 10
	sProgram  = 11
	sSummary  = 12
	sOriginal = 13
)

// Summary fields (doc/design.md §9), pinned like the snapshot's.
const (
	sumBackupStart         = 1
	sumBackupEnd           = 2
	sumFilesNew            = 3
	sumFilesChanged        = 4
	sumFilesUnmodified     = 5
	sumDirsNew             = 6
	sumDirsChanged         = 7
	sumDirsUnmodified      = 8
	sumDataBlobs           = 9
	sumTreeBlobs           = 10
	sumDataAdded           = 11
	sumTotalFilesProcessed = 12
	sumTotalBytesProcessed = 13
	sumBytesRead           = 14
	sumErrorCount          = 15
	sumDataAddedPacked     = 16
)

// summaryField is one counter of the summary and its field number.
type summaryField struct {
	num protowire.Number
	p   *uint64
}

func summaryFields(s *Summary) []summaryField {
	return []summaryField{{sumFilesNew, &s.FilesNew}, {sumFilesChanged, &s.FilesChanged},
		{sumFilesUnmodified, &s.FilesUnmodified}, {sumDirsNew, &s.DirsNew}, {sumDirsChanged, &s.DirsChanged},
		{sumDirsUnmodified, &s.DirsUnmodified}, {sumDataBlobs, &s.DataBlobs}, {sumTreeBlobs, &s.TreeBlobs},
		{sumDataAdded, &s.DataAdded}, {sumTotalFilesProcessed, &s.TotalFilesProcessed},
		{sumTotalBytesProcessed, &s.TotalBytesProcessed}, {sumBytesRead, &s.BytesRead}, {sumErrorCount, &s.ErrorCount},
		{sumDataAddedPacked, &s.DataAddedPacked}}
}

// Encode returns the snapshot's payload.
func (s *Snapshot) Encode() []byte {
	var e wire.Encoder
	e.Uint(sVersion, snapshotVersion)
	e.Int(sTime, nanos(s.Time))
	e.ID(sTree, s.Tree)
	e.ID(sParent, s.Parent)
	e.Str(sHost, s.Host)
	e.Str(sUser, s.User)
	e.Uint(sUID, uint64(s.UID))
	e.Uint(sGID, uint64(s.GID))
	for _, p := range s.Paths {
		e.Str(sPaths, p)
	}
	for _, t := range s.Tags {
		e.Str(sTags, t)
	}
	e.Str(sProgram, s.Program)
	if s.Summary != nil {
		var se wire.Encoder
		se.Int(sumBackupStart, nanos(s.Summary.BackupStart))
		se.Int(sumBackupEnd, nanos(s.Summary.BackupEnd))
		for _, f := range summaryFields(s.Summary) {
			se.Uint(f.num, *f.p)
		}
		e.Message(sSummary, se.B)
	}
	e.ID(sOriginal, s.Original)
	return e.B
}

// DecodeSnapshot parses a snapshot payload.
func DecodeSnapshot(b []byte) (*Snapshot, error) {
	s := &Snapshot{}
	version := uint64(0)
	err := wire.Decode(b, func(f wire.Field) error {
		var err error
		switch f.Num {
		case sVersion:
			version = f.U
		case sTime:
			s.Time = fromNanos(f.Int())
		case sTree:
			s.Tree, err = f.ID()
		case sParent:
			s.Parent, err = f.ID()
		case sOriginal:
			s.Original, err = f.ID()
		case sHost:
			s.Host = string(f.B)
		case sUser:
			s.User = string(f.B)
		case sUID:
			s.UID = uint32(f.U)
		case sGID:
			s.GID = uint32(f.U)
		case sPaths:
			s.Paths = append(s.Paths, string(f.B))
		case sTags:
			s.Tags = append(s.Tags, string(f.B))
		case sProgram:
			s.Program = string(f.B)
		case sSummary:
			s.Summary, err = decodeSummary(f.B)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if version != snapshotVersion {
		return nil, fmt.Errorf("snapshot version %d: %w", version, ErrFormat)
	}
	if s.Tree.IsZero() {
		return nil, fmt.Errorf("snapshot has no tree: %w", ErrFormat)
	}
	return s, nil
}

func decodeSummary(b []byte) (*Summary, error) {
	sum := &Summary{}
	byNum := map[protowire.Number]*uint64{}
	for _, f := range summaryFields(sum) {
		byNum[f.num] = f.p
	}
	err := wire.Decode(b, func(f wire.Field) error {
		switch f.Num {
		case sumBackupStart:
			sum.BackupStart = fromNanos(f.Int())
		case sumBackupEnd:
			sum.BackupEnd = fromNanos(f.Int())
		default:
			if p := byNum[f.Num]; p != nil {
				*p = f.U
			}
		}
		return nil
	})
	return sum, err
}

// SortByTime orders snapshots oldest first, ties broken by ID.
func SortByTime(snaps []*Snapshot) {
	sort.Slice(snaps, func(i, j int) bool {
		if !snaps[i].Time.Equal(snaps[j].Time) {
			return snaps[i].Time.Before(snaps[j].Time)
		}
		return snaps[i].ID.String() < snaps[j].ID.String()
	})
}
