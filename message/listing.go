package message

import "time"

// Snapshot is a snapshot as snapshots --json, forget --json and ls --json
// print it (restic's fields).
type Snapshot struct {
	StructType     string           `json:"struct_type,omitempty"`  // "snapshot" in ls --json
	MessageType    string           `json:"message_type,omitempty"` // "snapshot" in ls --json
	ID             string           `json:"id"`
	ShortID        string           `json:"short_id"`
	Time           time.Time        `json:"time"`
	Tree           string           `json:"tree"`
	Paths          []string         `json:"paths"`
	Hostname       string           `json:"hostname"`
	Username       string           `json:"username"`
	UID            uint32           `json:"uid"`
	GID            uint32           `json:"gid"`
	Tags           []string         `json:"tags"`
	ProgramVersion string           `json:"program_version"`
	Parent         string           `json:"parent,omitempty"`
	Original       string           `json:"original,omitempty"`
	Summary        *SnapshotSummary `json:"summary,omitempty"`
}

// SnapshotSummary is the backup summary a snapshot records.
type SnapshotSummary struct {
	BackupStart         time.Time `json:"backup_start"`
	BackupEnd           time.Time `json:"backup_end"`
	FilesNew            uint64    `json:"files_new"`
	FilesChanged        uint64    `json:"files_changed"`
	FilesUnmodified     uint64    `json:"files_unmodified"`
	DirsNew             uint64    `json:"dirs_new"`
	DirsChanged         uint64    `json:"dirs_changed"`
	DirsUnmodified      uint64    `json:"dirs_unmodified"`
	DataBlobs           uint64    `json:"data_blobs"`
	TreeBlobs           uint64    `json:"tree_blobs"`
	DataAdded           uint64    `json:"data_added"`
	DataAddedPacked     uint64    `json:"data_added_packed"`
	TotalFilesProcessed uint64    `json:"total_files_processed"`
	TotalBytesProcessed uint64    `json:"total_bytes_processed"`
}

// SnapshotGroup is one group of snapshots --group-by --json.
type SnapshotGroup struct {
	GroupKey  any        `json:"group_key"` // the grouped fields: hostname, paths, tags
	Snapshots []Snapshot `json:"snapshots"`
}

// Node is a directory entry as ls --json and find --json print it.
type Node struct {
	StructType  string    `json:"struct_type"` // "node"
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Path        string    `json:"path"`
	UID         uint32    `json:"uid"`
	GID         uint32    `json:"gid"`
	User        string    `json:"user"`
	Group       string    `json:"group"`
	Mode        uint32    `json:"mode"`
	Permissions string    `json:"permissions"`
	MTime       time.Time `json:"mtime"`
	CTime       time.Time `json:"ctime"`
	Inode       uint64    `json:"inode"`
	Size        *uint64   `json:"size,omitempty"`       // files only
	LinkTarget  *string   `json:"linktarget,omitempty"` // symlinks only
}

// FindResult is one snapshot's matches in find --json.
type FindResult struct {
	Snapshot string `json:"snapshot"`
	Matches  []Node `json:"matches"`
	Hits     int    `json:"hits"`
}

// ForgetReason is why a policy keeps a snapshot.
type ForgetReason struct {
	Snapshot Snapshot `json:"snapshot"`
	Matches  []string `json:"matches"`
}

// ForgetGroup is one group's decisions in forget --json (restic's).
type ForgetGroup struct {
	GroupKey any            `json:"group_key"` // the grouped fields: hostname, paths, tags
	Keep     []Snapshot     `json:"keep"`
	Remove   []Snapshot     `json:"remove"`
	Reasons  []ForgetReason `json:"reasons"`
}

// ForgetByID is forget --json when snapshots were named: their IDs.
type ForgetByID struct {
	Remove []string `json:"remove"`
}

// DiffChange is one line of diff --json.
type DiffChange struct {
	MessageType string `json:"message_type"` // "change"
	Path        string `json:"path"`
	Modifier    string `json:"modifier"`
	Type        string `json:"type"`
}

// DiffStatistics is the last line of diff --json.
type DiffStatistics struct {
	MessageType     string `json:"message_type"` // "statistics"
	SourceSnapshot  string `json:"source_snapshot"`
	TargetSnapshot  string `json:"target_snapshot"`
	Added           uint64 `json:"added"`
	Removed         uint64 `json:"removed"`
	Changed         uint64 `json:"changed"`
	MetadataChanged uint64 `json:"metadata_changed"`
	TypeChanged     uint64 `json:"type_changed"`
	AddedBytes      uint64 `json:"added_bytes"`
	RemovedBytes    uint64 `json:"removed_bytes"`
}

// Status is a progress line under --json.
type Status struct {
	MessageType    string   `json:"message_type"` // "status"
	SecondsElapsed int      `json:"seconds_elapsed"`
	PercentDone    float64  `json:"percent_done"`
	TotalFiles     uint64   `json:"total_files"`
	FilesDone      uint64   `json:"files_done"`
	TotalBytes     uint64   `json:"total_bytes"`
	BytesDone      uint64   `json:"bytes_done"`
	CurrentFiles   []string `json:"current_files,omitempty"`
}

// ErrorDetail is the error of an Error message.
type ErrorDetail struct {
	Message string `json:"message"`
}

// Error is printed on stderr under --json for an item a command could not
// process (a file backup could not read, an entry restore refused).
type Error struct {
	MessageType string      `json:"message_type"` // "error"
	Error       ErrorDetail `json:"error"`
	During      string      `json:"during"`
	Item        string      `json:"item"`
}

// Done is the summary of a command that changes one thing: init, key
// add/remove/passwd, tag, unlock.
type Done struct {
	MessageType      string `json:"message_type"`              // initialized, key_added, key_removed, password_changed, summary
	MessageVersion   int    `json:"message_version,omitempty"` // SchemaVersion, on summaries
	ID               string `json:"id,omitempty"`
	Repository       string `json:"repository,omitempty"`
	ChangedSnapshots *int   `json:"changed_snapshots,omitempty"`
	Removed          *int   `json:"removed,omitempty"`
	// Retained counts, for unlock, the ended lock files the object lock
	// keeps until their retention lapses.
	Retained *int `json:"retained,omitempty"`
}

// Key is a key file as key list --json and cat keys print it.
type Key struct {
	ID         string    `json:"id"`
	Current    bool      `json:"current"`
	User       string    `json:"user"`
	Host       string    `json:"host"`
	Created    time.Time `json:"created"`
	KDF        string    `json:"kdf"` // "argon2id"
	KDFTime    uint32    `json:"kdf_time"`
	KDFMemory  uint64    `json:"kdf_memory"` // bytes
	KDFThreads uint8     `json:"kdf_threads"`
}

// Lock is a lock file as cat lock prints it.
type Lock struct {
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Exclusive bool      `json:"exclusive"`
	Hostname  string    `json:"hostname"`
	Username  string    `json:"username"`
	PID       int       `json:"pid"`
	UID       uint32    `json:"uid"`
	GID       uint32    `json:"gid"`
	// Ends names the lock file this one replaces (a refresh) or, with
	// Released, ends (a release marker); State is "in force", "ended" (a
	// later file ends it), "release marker" or "stale" (in force, but not
	// refreshed, or its process is gone).
	Ends     string `json:"ends,omitempty"`
	Released bool   `json:"released"`
	State    string `json:"state"`
}

// Tree is a tree as cat tree prints it.
type Tree struct {
	ID    string `json:"id"`
	Nodes []Node `json:"nodes"`
}

// Record is a record file as cat record prints it: JSON records (drills,
// gates) with their document, others by kind and size.
type Record struct {
	ID       string `json:"id"`
	Kind     int    `json:"kind"`
	Size     int    `json:"size"`
	Document any    `json:"document,omitempty"`
}

// VerboseStatus is a line of backup -v --json: one file and what backup
// did with it (restic's verbose_status).
type VerboseStatus struct {
	MessageType string `json:"message_type"` // "verbose_status"
	Action      string `json:"action"`       // new, modified, unmodified
	Item        string `json:"item"`
	DataSize    uint64 `json:"data_size"`
}

// RepoConfig is the repository configuration as cat config prints it.
type RepoConfig struct {
	Version           int    `json:"version"`
	ID                string `json:"id"`
	ChunkerPolynomial string `json:"chunker_polynomial"`
	ChunkMinSize      uint32 `json:"chunk_min_size"`
	ChunkMaxSize      uint32 `json:"chunk_max_size"`
	ChunkAverageSize  uint32 `json:"chunk_average_size"`
	PackSize          uint32 `json:"pack_size"`
}

// PackBlob is a blob's entry in a pack header or an index file.
type PackBlob struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Offset     uint32 `json:"offset"`
	Length     uint32 `json:"length"`
	RawLength  uint32 `json:"raw_length"`
	Compressed bool   `json:"compressed"`
}

// Pack is a pack file as cat pack prints it: its header's entries.
type Pack struct {
	ID    string     `json:"id"`
	Size  int64      `json:"size"`
	Blobs []PackBlob `json:"blobs"`
}

// IndexPack is one pack of an index file.
type IndexPack struct {
	ID    string     `json:"id"`
	Blobs []PackBlob `json:"blobs"`
}

// IndexFile is an index file as cat index prints it.
type IndexFile struct {
	ID         string      `json:"id"`
	Supersedes []string    `json:"supersedes"`
	Packs      []IndexPack `json:"packs"`
}

// CacheList is cache --json: the cache folder and its repository caches.
type CacheList struct {
	Dir     string       `json:"dir"`
	Caches  []CacheEntry `json:"caches"`
	Removed []CacheEntry `json:"removed,omitempty"` // with --cleanup
}

// CacheEntry is one repository's cache.
type CacheEntry struct {
	Name     string    `json:"name"`
	LastUsed time.Time `json:"last_used"`
	Size     int64     `json:"size"`
	Files    int       `json:"files"`
}
