package backend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"time"
)

// ErrNotExist is returned (wrapped) when a file does not exist. Check it with
// errors.Is.
var ErrNotExist = errors.New("file does not exist")

// ErrTruncated is returned (wrapped, and marked Permanent) when a stored
// file is shorter than the range asked of it: the file is damaged, and
// reading it again cannot help.
var ErrTruncated = errors.New("file is shorter than expected (damaged)")

// Creator is implemented by backends that can create their container (an
// S3 bucket) when it does not exist, and by wrappers that pass it on.
type Creator interface {
	Create(ctx context.Context) error
}

// FileType is the kind of a stored file; it decides the directory.
type FileType uint8

// The file types of a repository, see doc/design.md §3.
const (
	Config FileType = iota + 1
	Key
	Pack
	Index
	Snapshot
	Lock
	Record
)

// FileTypes lists every file type, in layout order.
var FileTypes = []FileType{Config, Key, Pack, Index, Snapshot, Lock, Record}

var typeDirs = map[FileType]string{
	Config: "", Key: "keys", Pack: "data", Index: "index",
	Snapshot: "snapshots", Lock: "locks", Record: "records",
}

// String returns the directory-like name of the type.
func (t FileType) String() string {
	if t == Config {
		return "config"
	}
	if d, ok := typeDirs[t]; ok {
		return d
	}
	return fmt.Sprintf("filetype(%d)", uint8(t))
}

// Dir returns the type's directory in the layout ("" for Config).
func (t FileType) Dir() string { return typeDirs[t] }

// Handle names a stored file.
type Handle struct {
	Type FileType
	Name string
}

// String returns the handle's path in the layout.
func (h Handle) String() string { return h.Path() }

// Path returns the slash-separated path of the file in the repository layout:
// "config", "keys/NAME", "data/NA/ME/NAME", ...
func (h Handle) Path() string {
	switch h.Type {
	case Config:
		return "config"
	case Pack:
		if len(h.Name) >= 4 {
			return path.Join("data", h.Name[0:2], h.Name[2:4], h.Name)
		}
	}
	return path.Join(h.Type.Dir(), h.Name)
}

// Valid reports whether the handle can name a file: a known type and, except
// for Config, a plain name without separators or dots at its start.
func (h Handle) Valid() error {
	if _, ok := typeDirs[h.Type]; !ok {
		return fmt.Errorf("invalid file type %d", h.Type)
	}
	if h.Type == Config {
		return nil
	}
	if len(h.Name) < 4 || h.Name[0] == '.' {
		return fmt.Errorf("invalid file name %q", h.Name)
	}
	for _, c := range h.Name {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return fmt.Errorf("invalid file name %q", h.Name)
		}
	}
	return nil
}

// FileInfo describes a stored file.
type FileInfo struct {
	Name string
	Size int64
	// Path is where List found the file: its slash-separated path in the
	// repository layout, which for a file out of its place (a stray file
	// in a fan-out folder) differs from Handle.Path. Stat leaves it empty.
	Path string
}

// Where returns fi's path as listed, or the layout's path for a file of
// type t named fi.Name when the backend did not say.
func (fi FileInfo) Where(t FileType) string {
	if fi.Path != "" {
		return fi.Path
	}
	return Handle{Type: t, Name: fi.Name}.Path()
}

// Releaser is implemented by backends that are done with a Save's data
// before the Save returns: the local backend, once the bytes are written
// and while it waits for them to reach the disk. SaveRelease is Save of
// the file made of parts, one after another, that calls release (exactly
// once, before returning, whatever the outcome) as soon as the parts are
// no longer needed, so the caller can reuse their storage. Parts let a
// pack sealed where its blobs were gathered be stored without first being
// copied into one buffer.
type Releaser interface {
	SaveRelease(ctx context.Context, h Handle, parts [][]byte, release func()) error
}

// Backend stores whole files. Implementations must guarantee:
//
//   - Save is atomic: a concurrent or later reader sees the whole file or
//     none; a failed or interrupted Save leaves no visible partial file.
//     Saving an existing name replaces it atomically (cairn names files by
//     the hash of their bytes, so a name is never reused for other content).
//   - Read after write: once Save returns nil, Load, Stat and List see it.
//   - Not found is reported as an error wrapping ErrNotExist.
//   - All methods are safe for concurrent use.
type Backend interface {
	// Save stores data under h. It keeps no reference to data after it
	// returns.
	Save(ctx context.Context, h Handle, data []byte) error
	// Load returns a reader of length bytes of h from offset; length 0
	// means to the end. The caller closes it. Reading past the end returns
	// fewer bytes; callers check lengths.
	Load(ctx context.Context, h Handle, offset, length int64) (io.ReadCloser, error)
	// Stat returns the size of h.
	Stat(ctx context.Context, h Handle) (FileInfo, error)
	// List calls fn for every file of type t, in no particular order. An
	// error from fn stops the listing and is returned.
	List(ctx context.Context, t FileType, fn func(FileInfo) error) error
	// Remove deletes h.
	Remove(ctx context.Context, h Handle) error
	// Close releases resources.
	Close() error
}

// Unwrapper is implemented by wrappers around a Backend.
type Unwrapper interface {
	Unwrap() Backend
}

// ReadAll loads length bytes of h at offset (length 0: the whole file) and
// fails unless exactly that many bytes arrive when length > 0.
func ReadAll(ctx context.Context, be Backend, h Handle, offset, length int64) ([]byte, error) {
	return ReadInto(ctx, be, h, offset, length, nil)
}

// ReadInto is ReadAll reusing buf's storage when it is large enough. For a
// whole file it asks Stat for the size first, so the file is read into one
// buffer of the right size rather than a growing one.
func ReadInto(ctx context.Context, be Backend, h Handle, offset, length int64, buf []byte) ([]byte, error) {
	whole := length == 0
	if whole {
		fi, err := be.Stat(ctx, h)
		if err != nil {
			return nil, err
		}
		if length = fi.Size - offset; length <= 0 {
			return []byte{}, nil
		}
	}
	rd, err := be.Load(ctx, h, offset, length)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rd.Close() }()
	if br, ok := rd.(*BytesReader); ok && int64(len(br.b)) == length {
		return br.b, nil // already in memory, exactly: take it as it is
	}
	if int64(cap(buf)) < length {
		buf = make([]byte, length)
	}
	buf = buf[:length]
	if _, err := io.ReadFull(rd, buf); err != nil {
		return nil, fmt.Errorf("read %v at %d+%d: %w", h, offset, length, ShortRead(ctx, be, h, offset+length, err))
	}
	if whole {
		// The file may have grown since Stat; a longer file is an error too.
		if n, _ := rd.Read(make([]byte, 1)); n > 0 {
			return nil, fmt.Errorf("read %v: file changed size while being read", h)
		}
	}
	return buf, nil
}

// ShortRead classifies err, a read of h that ended before byte end: when
// the stored file is shorter than end, it returns a permanent error
// wrapping ErrTruncated; otherwise (a connection that dropped mid-transfer)
// err itself, which may be retried.
func ShortRead(ctx context.Context, be Backend, h Handle, end int64, err error) error {
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return err
	}
	fi, serr := be.Stat(ctx, h)
	if serr != nil || fi.Size >= end {
		return err
	}
	return Permanent(fmt.Errorf("%v holds %d bytes, %d were expected: %w", h, fi.Size, end, ErrTruncated))
}

// Names returns the names of every file of type t.
func Names(ctx context.Context, be Backend, t FileType) ([]string, error) {
	var names []string
	err := be.List(ctx, t, func(fi FileInfo) error {
		names = append(names, fi.Name)
		return nil
	})
	return names, err
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying (access denied, bad request).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked Permanent, or is a not-found
// error.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p) || errors.Is(err, ErrNotExist)
}

// BytesReader reads bytes a wrapper already holds in memory (the retry
// wrapper reads whole responses, so a retry re-reads whole objects);
// ReadInto takes them without copying.
type BytesReader struct {
	*bytes.Reader
	b []byte
}

// NewBytesReader returns a BytesReader over b.
func NewBytesReader(b []byte) *BytesReader { return &BytesReader{bytes.NewReader(b), b} }

// Close implements io.Closer.
func (*BytesReader) Close() error { return nil }

type bypassCacheKey struct{}

// BypassCache returns a context under which caching wrappers (package
// backend/cache) read from the storage itself: check must verify what
// the storage holds, not a local copy.
func BypassCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, bypassCacheKey{}, true)
}

// CacheBypassed reports whether ctx asks caching wrappers to step aside.
func CacheBypassed(ctx context.Context) bool {
	b, _ := ctx.Value(bypassCacheKey{}).(bool)
	return b
}

// ErrLocked is returned (wrapped, and marked Permanent) when a file cannot
// be removed or overwritten because its retention (S3 object lock) has not
// run out yet.
var ErrLocked = errors.New("file is locked by its retention")

// ErrPermission is returned (wrapped, and marked Permanent) when the
// storage refuses an operation to these credentials: an append-only user
// deleting a file, say.
var ErrPermission = errors.New("the storage refused it: these credentials lack the permission")

// ErrNoCredentials is returned (wrapped, with ErrPermission) when the
// storage refused a request sent without credentials, because none were
// found.
var ErrNoCredentials = errors.New("no S3 credentials were found (cairn reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment, or, for a repository of cairn.toml, its s3-credentials-file), so the request went unsigned")

// Retention is how a stored file is protected from deletion and
// overwriting: S3 object lock's mode and the time it runs out.
type Retention struct {
	Mode  string    // "governance" or "compliance"; "" for none
	Until time.Time // zero for none
}

// Retainer is implemented by storage that locks files (S3 object lock).
type Retainer interface {
	// SetRetention makes every later Save, but of lock files, lock its
	// file for period in mode ("governance" or "compliance").
	SetRetention(mode string, period time.Duration)
	// Retention returns a file's current retention.
	Retention(ctx context.Context, h Handle) (Retention, error)
	// Retain extends a file's retention to until, in the mode
	// SetRetention set; a later retention is kept (retention never
	// shortens), and a weaker mode (governance, or none, under a
	// compliance policy) is raised to it.
	Retain(ctx context.Context, h Handle, until time.Time) error
}

// BucketRetainer is a Retainer whose storage also has a default retention
// for files written without one of their own (an S3 bucket's object lock
// configuration), and can tell what a holder of its credentials may do
// against a locked file.
type BucketRetainer interface {
	Retainer
	// BucketDefault returns the default retention's mode and period (""
	// and 0 for none).
	BucketDefault(ctx context.Context) (mode string, period time.Duration, err error)
	// SetBucketDefault sets the default retention (whole days only; other
	// periods are left to the writers, who set one per file).
	SetBucketDefault(ctx context.Context, mode string, period time.Duration) error
	// ProbeBypass stores data under h locked in governance mode for a
	// minute, then tries to delete that version with the governance
	// bypass, as an attacker holding these credentials would. It reports
	// whether the delete went through (the lock does not hold against
	// these credentials); when it did not, the file lapses and goes with
	// the other released lock files.
	ProbeBypass(ctx context.Context, h Handle, data []byte) (bypassed bool, err error)
}

// FindRetainer returns the Retainer below be's wrappers, or nil.
func FindRetainer(be Backend) Retainer {
	for {
		if r, ok := be.(Retainer); ok {
			return r
		}
		u, ok := be.(Unwrapper)
		if !ok {
			return nil
		}
		be = u.Unwrap()
	}
}

// AsOfOptions say which versions RestoreAsOf brings back and how it
// writes them.
type AsOfOptions struct {
	// Time is the state to go back to: each file's newest version or
	// delete marker written at or before it. Zero means the newest intact
	// state: each file's newest intact version, delete markers passed
	// over (in an object-locked repository cairn deletes every version of
	// a file, so a delete marker is never its own).
	Time   time.Time
	DryRun bool
	// Intact reports whether a version's bytes are a whole, undamaged file
	// of that name (for cairn: the name is the hash of the bytes). A
	// version that is not is skipped for the next older one. Nil trusts
	// every version.
	Intact func(h Handle, data io.Reader) (bool, error)
	// Policy learns the retention every copy is written with (the
	// repository's own, never the bucket's default) from view, the
	// storage as it will be once restored (read-only). It is called once,
	// before the first copy, and not in a dry run; an error stops the
	// recovery before anything is written. Nil writes copies with no
	// retention of their own.
	Policy func(ctx context.Context, view Backend) (mode string, period time.Duration, err error)
}

// AsOfReport says what RestoreAsOf did (or, in a dry run, would do).
type AsOfReport struct {
	Restored  []string         // files brought back to an earlier version
	Hidden    []string         // files hidden: written since, or no intact version
	Unchanged int              // files as they were then
	Skipped   []SkippedVersion // versions passed over as damaged
	// Mode and Period are the retention the copies were written with.
	Mode   string
	Period time.Duration
}

// SkippedVersion is a stored version RestoreAsOf found damaged.
type SkippedVersion struct {
	Path      string    `json:"path"`
	VersionID string    `json:"version_id"`
	Time      time.Time `json:"time"`
	Size      int64     `json:"size"`
}

// Versioner is implemented by storage that keeps every version of its
// files (an S3 bucket with versioning, which object lock turns on).
type Versioner interface {
	// RestoreAsOf brings every file back to the version opts choose:
	// files deleted or overwritten since come back, files written since
	// (or with no intact version) are hidden. Nothing is deleted: later
	// versions stay.
	RestoreAsOf(ctx context.Context, opts AsOfOptions) (AsOfReport, error)
	// Versioned reports whether the storage keeps versions now (an S3
	// bucket whose versioning is on).
	Versioned(ctx context.Context) (bool, error)
	// HasVersions reports whether earlier versions of h are stored (it
	// may be hidden behind a delete marker, or overwritten).
	HasVersions(ctx context.Context, h Handle) (bool, error)
}

// FindVersioner returns the Versioner below be's wrappers, or nil.
func FindVersioner(be Backend) Versioner {
	for {
		if v, ok := be.(Versioner); ok {
			return v
		}
		u, ok := be.(Unwrapper)
		if !ok {
			return nil
		}
		be = u.Unwrap()
	}
}
