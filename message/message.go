// Package message defines the JSON messages cairn prints with --json, once,
// as Go types: the command line encodes them, and whoever reads a cairn
// command's output (the operations layer, scripts, the console) decodes
// into the same types. Field names follow restic's where restic prints the
// same message (files_new, data_added, total_duration, ...).
//
// A renamed field is a compile error on both sides, never a silent zero.
package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Message types, the value of every message's message_type field.
const (
	TypeSummary = "summary"
	TypeRetry   = "retry"
	TypeError   = "error"
)

// BackupSummary is the last line of backup --json.
type BackupSummary struct {
	MessageType         string  `json:"message_type"`    // "summary"
	MessageVersion      int     `json:"message_version"` // SchemaVersion
	FilesNew            uint64  `json:"files_new"`
	FilesChanged        uint64  `json:"files_changed"`
	FilesUnmodified     uint64  `json:"files_unmodified"`
	DirsNew             uint64  `json:"dirs_new"`
	DirsChanged         uint64  `json:"dirs_changed"`
	DirsUnmodified      uint64  `json:"dirs_unmodified"`
	DataBlobs           uint64  `json:"data_blobs"`
	TreeBlobs           uint64  `json:"tree_blobs"`
	DataAdded           uint64  `json:"data_added"`
	DataAddedPacked     uint64  `json:"data_added_packed"`
	TotalFilesProcessed uint64  `json:"total_files_processed"`
	TotalBytesProcessed uint64  `json:"total_bytes_processed"`
	BytesRead           uint64  `json:"bytes_read"`
	TotalDuration       float64 `json:"total_duration"`
	Errors              uint64  `json:"errors"`
	DryRun              bool    `json:"dry_run"`
	SnapshotID          string  `json:"snapshot_id,omitempty"`
}

// RestoreSummary is the last line of restore --json.
type RestoreSummary struct {
	MessageType    string   `json:"message_type"`    // "summary"
	MessageVersion int      `json:"message_version"` // SchemaVersion
	SnapshotID     string   `json:"snapshot_id"`
	TotalFiles     uint64   `json:"total_files"`
	FilesRestored  uint64   `json:"files_restored"`
	FilesSkipped   uint64   `json:"files_skipped"`
	TotalBytes     uint64   `json:"total_bytes"`
	BytesRestored  uint64   `json:"bytes_restored"`
	DirsRestored   uint64   `json:"dirs_restored"`
	FilesVerified  uint64   `json:"files_verified"`
	Refused        uint64   `json:"refused"`
	Failed         []string `json:"failed"`
	TotalDuration  float64  `json:"total_duration"`
	Interrupted    bool     `json:"interrupted"`
	DryRun         bool     `json:"dry_run,omitempty"`
	FilesDeleted   uint64   `json:"files_deleted,omitempty"`  // entries removed (or, in a dry run, to remove) by --delete
	FilesReplaced  uint64   `json:"files_replaced,omitempty"` // entries of another type than the snapshot's removed (or to remove) by --delete to make way
}

// CheckProblem is a repository file check could not read or found wrong.
type CheckProblem struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// CheckDamage is a damaged or missing blob and what uses it.
type CheckDamage struct {
	Blob      string   `json:"blob"`
	Type      string   `json:"type"`
	Pack      string   `json:"pack"`
	Reason    string   `json:"reason"`
	Snapshots []string `json:"snapshots"`
	Paths     []string `json:"paths"`
}

// CheckRolling is the state of rolling verification after check --rolling.
type CheckRolling struct {
	Packs                        int        `json:"packs"`
	Verified                     int        `json:"verified"`
	Coverage                     float64    `json:"coverage"`
	NeverVerified                int        `json:"never_verified"`
	RunsToCover                  int        `json:"runs_to_cover"`
	OldestVerification           *time.Time `json:"oldest_verification"`
	OldestVerificationAgeSeconds *int64     `json:"oldest_verification_age_seconds,omitempty"`
}

// CheckSummary is the last line of check --json.
type CheckSummary struct {
	MessageType    string         `json:"message_type"`    // "summary"
	MessageVersion int            `json:"message_version"` // SchemaVersion
	OK             bool           `json:"ok"`
	Interrupted    bool           `json:"interrupted,omitempty"`
	Problems       []CheckProblem `json:"problems"`
	Damage         []CheckDamage  `json:"damage"`
	UnindexedPacks int            `json:"unindexed_packs"`
	Packs          int            `json:"packs"`
	PacksTotal     uint64         `json:"packs_total,omitempty"` // packs to read, when interrupted
	Snapshots      int            `json:"snapshots"`
	Trees          int            `json:"trees"`
	PacksRead      uint64         `json:"packs_read"`
	BytesRead      uint64         `json:"bytes_read"`
	TotalDuration  float64        `json:"total_duration"`
	Rolling        *CheckRolling  `json:"rolling,omitempty"`
	// RetentionShort lists, in an object-locked repository, the files in
	// use whose retention ends within half the lock period.
	RetentionShort []RetentionGap `json:"retention_short,omitempty"`
}

// RetentionGap is a file in use whose retention ends too soon.
type RetentionGap struct {
	File  string    `json:"file"`
	Until time.Time `json:"until,omitzero"`
}

// CopySummary is the last line of copy --json.
type CopySummary struct {
	MessageType      string   `json:"message_type"`    // "summary"
	MessageVersion   int      `json:"message_version"` // SchemaVersion
	SnapshotsCopied  int      `json:"snapshots_copied"`
	SnapshotsSkipped int      `json:"snapshots_skipped"`
	BlobsCopied      int      `json:"blobs_copied"`
	BytesCopied      uint64   `json:"bytes_copied"`
	BlobsPresent     int      `json:"blobs_present"`
	NewSnapshots     []string `json:"new_snapshots"`
	Interrupted      bool     `json:"interrupted"`
}

// PruneSummary is the last line of prune --json (and of forget --prune).
type PruneSummary struct {
	MessageType          string  `json:"message_type"`    // "summary"
	MessageVersion       int     `json:"message_version"` // SchemaVersion
	DryRun               bool    `json:"dry_run"`
	Packs                int     `json:"packs"`
	PacksDeleted         int     `json:"packs_deleted"`
	PacksRepacked        int     `json:"packs_repacked"`
	UnindexedDeleted     int     `json:"unindexed_packs_deleted"`
	PacksWritten         int     `json:"packs_written"`
	BlobsUsed            int     `json:"blobs_used"`
	BlobsUnused          int     `json:"blobs_unused"`
	BlobsRepacked        int     `json:"blobs_repacked"`
	BytesTotal           uint64  `json:"bytes_total"`
	BytesUnused          uint64  `json:"bytes_unused"`
	BytesDeleted         uint64  `json:"bytes_deleted"`
	BytesWritten         uint64  `json:"bytes_written"`
	BytesFreed           int64   `json:"bytes_freed"`
	BytesUnusedRemaining uint64  `json:"bytes_unused_remaining"`
	TotalDuration        float64 `json:"total_duration"`
	// The plan's figures as restic prints them: used blobs copied into new
	// packs, blobs removed (unused ones in repacked and deleted packs),
	// and the packs by use.
	RepackBlobs     int    `json:"repack_blobs"`
	RepackBytes     uint64 `json:"repack_bytes"`
	RemovedBlobs    int    `json:"removed_blobs"`
	RemovedBytes    uint64 `json:"removed_bytes"`
	PacksKept       int    `json:"packs_kept"`
	PacksFullyUsed  int    `json:"packs_fully_used"`
	PacksPartlyUsed int    `json:"packs_partly_used"`
	PacksUnused     int    `json:"packs_unused"`
	// Object lock: files left because they are still retained, the
	// earliest time one can go, and files in use whose retention was
	// extended.
	LockedKept     int       `json:"locked_kept,omitempty"`
	LockedUntil    time.Time `json:"locked_until,omitzero"`
	RetainExtended int       `json:"retention_extended,omitempty"`
	// Purge records (rewrite --forget): blobs removed from every pack
	// whatever --max-unused says, named blobs that snapshots still use
	// (they stay), and packs repacked only for them.
	PurgedBlobs    int `json:"purged_blobs,omitempty"`
	PurgeStillUsed int `json:"purge_still_used,omitempty"`
	PurgePacks     int `json:"purge_packs,omitempty"`
}

// StatsSummary is stats --json.
type StatsSummary struct {
	MessageType            string  `json:"message_type"`    // "summary"
	MessageVersion         int     `json:"message_version"` // SchemaVersion
	SnapshotsCount         int     `json:"snapshots_count"`
	TotalFileCount         uint64  `json:"total_file_count"`
	TotalSize              uint64  `json:"total_size"`
	TotalUncompressedSize  uint64  `json:"total_uncompressed_size"`
	TotalBlobCount         int     `json:"total_blob_count"`
	StoredSize             uint64  `json:"stored_size"`
	DeduplicationRatio     float64 `json:"deduplication_ratio"`
	CompressionRatio       float64 `json:"compression_ratio"`
	CompressionSpaceSaving float64 `json:"compression_space_saving"`
	PackCount              int     `json:"pack_count"`
	RepositorySize         uint64  `json:"repository_size"`
}

// Retry is printed on stderr under --json when a storage request failed
// and will be tried again.
type Retry struct {
	MessageType string  `json:"message_type"` // "retry"
	Operation   string  `json:"operation"`
	Item        string  `json:"item"`
	Error       string  `json:"error"`
	RetryIn     float64 `json:"retry_in_seconds"`
}

// SchemaVersion is the version of the summaries' fields, in their
// message_version field. It grows when a field changes meaning or goes
// away (adding a field does not change it), so that a program reading an
// older or newer cairn's output says so instead of reading a zero.
const SchemaVersion = 1

// ErrNoMessage is returned by Last when the output holds no JSON object.
var ErrNoMessage = errors.New("the command printed no JSON message")

// VersionError is returned by Last for a summary of another SchemaVersion:
// the command was run by a different cairn than the one reading it.
type VersionError struct{ Got int }

// Error says which version was found and which is read.
func (e *VersionError) Error() string {
	return fmt.Sprintf("the cairn command printed summary version %d, this cairn reads version %d: use the same cairn binary for both", e.Got, SchemaVersion)
}

// Last decodes the last line of out that is a JSON object into v: a cairn
// command's --json summary. A summary (message_type "summary") must carry
// this SchemaVersion.
func Last(out []byte, v any) error {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		line := bytes.TrimSpace(lines[i])
		if len(line) > 0 && line[0] == '{' {
			var head struct {
				MessageType    string `json:"message_type"`
				MessageVersion int    `json:"message_version"`
			}
			if err := json.Unmarshal(line, &head); err != nil {
				return err
			}
			if head.MessageType == TypeSummary && head.MessageVersion != SchemaVersion {
				return &VersionError{Got: head.MessageVersion}
			}
			return json.Unmarshal(line, v)
		}
	}
	return ErrNoMessage
}

// RepairIndexSummary is the last line of repair index --json.
type RepairIndexSummary struct {
	MessageType    string `json:"message_type"`    // "summary"
	MessageVersion int    `json:"message_version"` // SchemaVersion
	DryRun         bool   `json:"dry_run"`
	Packs          int    `json:"packs"`
	PacksIndexed   int    `json:"packs_indexed"`
	Blobs          int    `json:"blobs"`
	BadBlobs       int    `json:"bad_blobs"`
	BadPacks       int    `json:"bad_packs"`
	OldIndexFiles  int    `json:"old_index_files"`
}

// RepairSnapshotsSummary is the last line of repair snapshots --json.
type RepairSnapshotsSummary struct {
	MessageType    string   `json:"message_type"`    // "summary"
	MessageVersion int      `json:"message_version"` // SchemaVersion
	DryRun         bool     `json:"dry_run"`
	Repaired       int      `json:"repaired"`
	EntriesRemoved int      `json:"entries_removed"`
	NewSnapshots   []string `json:"new_snapshots"`
}

// PruneStopped is prune --json's summary when prune stopped part-way.
type PruneStopped struct {
	MessageType       string  `json:"message_type"`    // "summary"
	MessageVersion    int     `json:"message_version"` // SchemaVersion
	Interrupted       bool    `json:"interrupted"`
	Stage             string  `json:"stage"`
	PackFilesDeleted  int     `json:"pack_files_deleted"`
	PackFilesToDelete int     `json:"pack_files_to_delete"`
	TotalDuration     float64 `json:"total_duration"`
}

// Version is version --json.
type Version struct {
	MessageType string `json:"message_type"` // "version"
	Version     string `json:"version"`
	GoVersion   string `json:"go_version"`
}

// BenchGenerated is bench generate --json.
type BenchGenerated struct {
	MessageType    string `json:"message_type"`    // "summary"
	MessageVersion int    `json:"message_version"` // SchemaVersion
	Profile        string `json:"profile"`
	Files          int    `json:"files"`
	Bytes          int64  `json:"bytes"`
}

// RewriteSummary is the last line of rewrite --json.
type RewriteSummary struct {
	MessageType    string   `json:"message_type"`    // "summary"
	MessageVersion int      `json:"message_version"` // SchemaVersion
	DryRun         bool     `json:"dry_run"`
	Rewritten      int      `json:"snapshots_rewritten"`
	EntriesRemoved int      `json:"entries_removed"`
	NewSnapshots   []string `json:"new_snapshots"`
	Forgotten      int      `json:"snapshots_removed"` // originals removed by --forget
	// PurgeBlobs is how many blobs --forget recorded for removal by the
	// next prune (the data and trees left out); Prune is that prune's
	// summary, with --prune.
	PurgeBlobs int           `json:"purge_blobs,omitempty"`
	Prune      *PruneSummary `json:"prune,omitempty"`
}

// RecoverSummary is the last line of repair versions --json.
type RecoverSummary struct {
	MessageType    string    `json:"message_type"`    // "summary"
	MessageVersion int       `json:"message_version"` // SchemaVersion
	DryRun         bool      `json:"dry_run"`
	AsOf           time.Time `json:"as_of,omitzero"` // zero: the newest intact state
	Restored       []string  `json:"restored"`
	Hidden         []string  `json:"hidden"`
	Unchanged      int       `json:"unchanged"`
	// Skipped are the stored versions passed over because their bytes do
	// not match their name (damaged or planted).
	Skipped []SkippedVersion `json:"skipped_versions"`
	// RetentionMode and RetentionPeriod are what the copies were locked
	// with: the restored config's, never the bucket's default.
	RetentionMode   string  `json:"retention_mode,omitempty"`
	RetentionPeriod float64 `json:"retention_period_seconds,omitempty"`
}

// SkippedVersion is a stored version repair versions found damaged.
type SkippedVersion struct {
	Path      string    `json:"path"`
	VersionID string    `json:"version_id"`
	Time      time.Time `json:"time"`
	Size      int64     `json:"size"`
}
