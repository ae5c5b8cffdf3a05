package repo

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/index"
	"github.com/cairn-backup/cairn/pack"
	"golang.org/x/sync/errgroup"
)

// Errors callers branch on.
var (
	// ErrNoRepository: there is no config file at the location.
	ErrNoRepository = errors.New("repository does not exist")
	// ErrExists: Init found an existing repository.
	ErrExists = errors.New("repository already exists")
	// ErrWrongPassword: no key file opens with the password.
	ErrWrongPassword = crypto.ErrWrongPassword
	// ErrNotFound: a named object (key, blob, file prefix) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrCannotDelete: CanDelete found that these credentials may write
	// but not delete (append-only credentials); it wraps
	// backend.ErrPermission.
	ErrCannotDelete = errors.New("these credentials cannot delete files")
	// ErrFileMissing: a file of the repository (a pack, an index file)
	// does not exist; the same error as the backend's ErrNotExist, so
	// that layers above repo can check it.
	ErrFileMissing = backend.ErrNotExist
)

// Options tune a repository handle.
type Options struct {
	Compression pack.Compression
	// KDF is used for key files this handle writes; zero means DefaultKDF.
	KDF crypto.KDFParams
	// PackSize is the pack target size for Init; zero means 16 MiB.
	PackSize uint32
	// Connections bounds concurrent backend requests; zero means 2×GOMAXPROCS.
	Connections int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Warn is told about damage that does not stop the command (a
	// snapshot file that cannot be read, say). Nil discards.
	Warn func(error)
	// From, for Init: take the chunker parameters and the blob-ID key of
	// this repository, so that copies between the two deduplicate against
	// direct backups and copy can skip blobs without reading them.
	From *Repository
	// DeferIndex makes Open leave the index unloaded: the first Lock loads
	// it once the lock is held (lock, then load; design §12.9). A command
	// that locks should set it, so that it never works from an index read
	// before another command's prune finished.
	DeferIndex bool
	// CheckpointPacks: after this many new packs an index file is written,
	// so an interrupted run leaves reusable data. Zero means 64.
	CheckpointPacks int
	// IndexFileBlobs bounds the blobs of one index file this repository
	// writes; an index file is also written once this many new blobs are
	// stored. Zero means index.MaxFileBlobs.
	IndexFileBlobs int
	// Lock, for Init: lock every file the repository stores (S3 object
	// lock; the storage must support it). Recorded in the config.
	Lock LockPolicy
}

// ErrNoObjectLock is returned when a repository with an object lock is
// created or written on storage that cannot lock files.
var ErrNoObjectLock = errors.New("the storage cannot lock files (object lock needs an S3 bucket created with object locking)")

func (o *Options) fill() {
	if o.KDF == (crypto.KDFParams{}) {
		o.KDF = crypto.DefaultKDF
	}
	if o.Connections <= 0 {
		o.Connections = 2 * runtime.GOMAXPROCS(0)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Warn == nil {
		o.Warn = func(error) {}
	}
	if o.CheckpointPacks <= 0 {
		o.CheckpointPacks = 64
	}
	if o.IndexFileBlobs <= 0 {
		o.IndexFileBlobs = index.MaxFileBlobs
	}
}

// Repository is an open repository. Its methods are safe for concurrent use.
type Repository struct {
	be      backend.Backend
	key     *crypto.Key
	keyName string
	cfg     Config
	opts    Options
	idx     *index.Index

	mu       sync.Mutex // guards packers, inflight, written and failed
	packers  [blob.NumTypes]*packer
	inflight map[blob.Handle]struct{}
	written  []index.Pack // packs stored since the last index file
	// writtenBlobs counts the blobs of written.
	writtenBlobs int
	failed       error

	local     bool          // the storage answers at the speed of a disk (backend.Releaser)
	uploadSem chan struct{} // bounds background pack uploads
	bufs      chan []byte   // free list of pack-sized buffers (getBuf, putBuf)
	arenas    chan struct{} // one per data arena in existence: one gathering, one per upload slot

	aeadMu  sync.Mutex              // guards aeads
	aeads   map[blob.ID]cipher.AEAD // recently used packs' ciphers (packAEAD)
	syncing chan struct{}           // bounds uploads in flight, counting those past their upload slot
	uploads sync.WaitGroup          // background pack uploads in flight

	packs       *packCache // whole packs for LoadBlob; nil when off
	indexErrors []error
	// supersededIndex names the index files the last load left out.
	supersededIndex map[string]bool // damaged index files skipped by LoadIndex
	indexLoaded     bool            // LoadIndex has run; set before the handle is shared
	indexNames      map[string]bool // index files in the in-memory index; guarded by mu
	lock            *Lock           // guarded by mu; nil when the command holds no lock
	uploadCtx       context.Context // guarded by mu; see BindUploads
}

// Init creates a repository on be, protected by password, and returns it
// open. It writes a key file first and the config last (design §12).
func Init(ctx context.Context, be backend.Backend, password []byte, opts Options) (*Repository, error) {
	opts.fill()
	if _, err := be.Stat(ctx, backend.Handle{Type: backend.Config}); err == nil {
		return nil, ErrExists
	} else if !errors.Is(err, backend.ErrNotExist) {
		return nil, fmt.Errorf("init: %w", err)
	}
	cfg, err := newConfig(opts.PackSize)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	cfg.Lock = opts.Lock
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	if err := applyLock(be, cfg.Lock); err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	if cfg.Lock.Enabled() {
		// A bucket default locks what append-only credentials write
		// without a retention of their own (design §12b).
		if d, ok := backend.FindRetainer(be).(interface {
			SetBucketDefault(ctx context.Context, mode string, period time.Duration) error
		}); ok {
			if err := d.SetBucketDefault(ctx, cfg.Lock.Mode, cfg.Lock.Period); err != nil {
				return nil, fmt.Errorf("init: %w", err)
			}
		}
	}
	var key *crypto.Key
	if opts.From != nil {
		cfg.Chunker = opts.From.cfg.Chunker
		key, err = crypto.NewRandomKeySharingID(opts.From.key)
	} else {
		key, err = crypto.NewRandomKey()
	}
	if err != nil {
		return nil, err
	}
	r := newRepository(be, key, cfg, opts)
	r.indexLoaded = true // a new repository has no index files
	if r.keyName, err = r.writeKey(ctx, password); err != nil {
		return nil, err
	}
	data, err := sealConfig(key, cfg)
	if err != nil {
		return nil, err
	}
	if err := be.Save(ctx, backend.Handle{Type: backend.Config}, data); err != nil {
		return nil, fmt.Errorf("init: save config: %w", err)
	}
	return r, nil
}

// LimitUploads bounds the packs uploaded at once to n (at least 1; it
// never raises the bound), and so the pack buffers held, and the
// concurrent pack reads (check --read-data) to n (at least 2): a
// memory cap (--max-memory). Call it before the handle writes anything.
func (r *Repository) LimitUploads(n int) {
	r.opts.Connections = min(r.opts.Connections, max(2, n))
	n = max(1, min(n, cap(r.uploadSem)))
	r.uploadSem = make(chan struct{}, n)
	r.syncing = make(chan struct{}, 4*n)
	r.bufs = make(chan []byte, n+blob.NumTypes)
	r.arenas = make(chan struct{}, n+1)
}

// applyLock makes the storage lock every file it stores from now on, as
// the repository's lock policy says.
func applyLock(be backend.Backend, p LockPolicy) error {
	if !p.Enabled() {
		return nil
	}
	rt := backend.FindRetainer(be)
	if rt == nil {
		return ErrNoObjectLock
	}
	rt.SetRetention(p.Mode, p.Period)
	return nil
}

// LockPolicy is the repository's object lock (none when not Enabled).
func (r *Repository) LockPolicy() LockPolicy { return r.cfg.Lock }

func newRepository(be backend.Backend, key *crypto.Key, cfg Config, opts Options) *Repository {
	uploads := max(2, opts.Connections/2)
	_, local := be.(backend.Releaser)
	if local {
		// A backend that is done with the bytes as soon as they are
		// written (the local disk) needs no second pack in flight: the
		// next pack takes a while to fill, and one buffer less is 16 MiB.
		uploads = 1
	}
	r := &Repository{be: be, key: key, cfg: cfg, opts: opts, idx: index.New(), inflight: map[blob.Handle]struct{}{},
		uploadSem: make(chan struct{}, uploads), local: local}
	r.syncing = make(chan struct{}, 4*cap(r.uploadSem))
	// Enough buffers for every pack being built or uploaded and every
	// packer gathering blobs.
	r.bufs = make(chan []byte, cap(r.uploadSem)+blob.NumTypes)
	r.arenas = make(chan struct{}, cap(r.uploadSem)+1)
	return r
}

// Open opens the repository on be with password and loads its index. It
// writes nothing.
func Open(ctx context.Context, be backend.Backend, password []byte, opts Options) (*Repository, error) {
	opts.fill()
	cfgData, err := backend.ReadAll(ctx, be, backend.Handle{Type: backend.Config}, 0, 0)
	if errors.Is(err, backend.ErrNotExist) {
		return nil, ErrNoRepository
	}
	if err != nil {
		return nil, fmt.Errorf("open: read config: %w", err)
	}
	key, keyName, err := unlock(ctx, be, password)
	if err != nil {
		return nil, err
	}
	cfg, err := openConfig(key, cfgData)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if err := applyLock(be, cfg.Lock); err != nil && opts.Warn != nil {
		// A locked repository copied to storage without locks (a local
		// disk, say) is used as it is: what it writes there is not locked.
		opts.Warn(fmt.Errorf("the repository asks for %s object lock of %v, but %w; files written now are not locked",
			cfg.Lock.Mode, cfg.Lock.Period, err))
	}
	r := newRepository(be, key, cfg, opts)
	r.keyName = keyName
	if opts.DeferIndex {
		return r, nil
	}
	if err := r.LoadIndex(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// unlock tries the password on every key file.
func unlock(ctx context.Context, be backend.Backend, password []byte) (*crypto.Key, string, error) {
	names, err := backend.Names(ctx, be, backend.Key)
	if err != nil {
		return nil, "", fmt.Errorf("open: list keys: %w", err)
	}
	if len(names) == 0 {
		return nil, "", errors.New("open: the repository has no key files")
	}
	var damaged []string
	for _, name := range names {
		data, err := loadVerified(ctx, be, backend.Handle{Type: backend.Key, Name: name})
		if err != nil {
			// A damaged key file must not lock the user out of the others.
			damaged = append(damaged, shortName(name))
			continue
		}
		kf, err := crypto.ParseKeyFile(data)
		if err != nil {
			damaged = append(damaged, shortName(name))
			continue
		}
		if key, err := kf.Unlock(password); err == nil {
			return key, name, nil
		}
	}
	if len(damaged) > 0 {
		return nil, "", &DamagedKeysError{Names: damaged}
	}
	return nil, "", ErrWrongPassword
}

// DamagedKeysError is returned by Open when no key opened and some key
// files could not even be read; it matches ErrWrongPassword.
type DamagedKeysError struct{ Names []string }

// Error names the damaged key files.
func (e *DamagedKeysError) Error() string {
	return fmt.Sprintf("no key file opened with this password, and %d key files are damaged (%s)",
		len(e.Names), strings.Join(e.Names, ", "))
}

// Unwrap makes the error match ErrWrongPassword.
func (e *DamagedKeysError) Unwrap() error { return ErrWrongPassword }

func shortName(name string) string {
	if len(name) > 8 {
		return name[:8]
	}
	return name
}

// loadVerified reads a whole file and checks that its name is the hash of
// its bytes.
func loadVerified(ctx context.Context, be backend.Backend, h backend.Handle) ([]byte, error) {
	data, err := backend.ReadAll(ctx, be, h, 0, 0)
	if err != nil {
		return nil, err
	}
	if crypto.Hash(data).String() != h.Name {
		return nil, fmt.Errorf("%v: content does not match its name: %w", h, crypto.ErrCorrupt)
	}
	return data, nil
}

// LoadIndex reads every index file in parallel into the in-memory index.
// A damaged index file does not stop it: it is skipped and listed by
// IndexErrors, so that check can report it and repair can replace it.
func (r *Repository) LoadIndex(ctx context.Context) error {
	names, err := backend.Names(ctx, r.be, backend.Index)
	if err != nil {
		return fmt.Errorf("list index files: %w", err)
	}
	superseded, err := r.loadIndexFiles(ctx, names, nil)
	if err != nil {
		return err
	}
	// Index files that a loaded one supersedes (prune could not remove
	// them: an object lock kept them, or prune was killed) are left out:
	// they may name packs prune has since deleted. This second pass is
	// needed only when there are any.
	stale := map[string]bool{}
	for _, n := range names {
		if superseded[n] {
			stale[n] = true
		}
	}
	if len(stale) > 0 {
		r.idx, r.indexErrors = index.New(), nil
		if _, err := r.loadIndexFiles(ctx, names, superseded); err != nil {
			return err
		}
	}
	r.idx.Compact()
	r.indexLoaded = true
	r.mu.Lock()
	r.indexNames = map[string]bool{}
	for _, n := range names {
		r.indexNames[n] = true
	}
	r.supersededIndex = stale
	r.mu.Unlock()
	return nil
}

// loadIndexFiles adds the index files names (but those in skip) to the
// in-memory index, in parallel, and returns the names the loaded files
// supersede. A damaged file is recorded in IndexErrors and skipped.
func (r *Repository) loadIndexFiles(ctx context.Context, names []string, skip map[string]bool) (map[string]bool, error) {
	g, gctx := errgroup.WithContext(ctx)
	// From a local disk one at a time: each file's sealed, decompressed
	// and decoded copies are tens of MB for a large repository, and
	// reading is quick next to opening them (a million blobs: 0.3 s
	// faster and 90 MB less than four at once). Remote storage is read
	// in parallel, to hide each request's latency.
	g.SetLimit(r.opts.Connections)
	if r.local {
		g.SetLimit(1)
	}
	var mu sync.Mutex
	superseded := map[string]bool{}
	for _, name := range names {
		if skip[name] {
			continue
		}
		g.Go(func() error {
			f, err := r.LoadIndexFile(gctx, name)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				mu.Lock()
				r.indexErrors = append(r.indexErrors, err)
				mu.Unlock()
				return nil
			}
			mu.Lock()
			for _, id := range f.Supersedes {
				superseded[id.String()] = true
			}
			mu.Unlock()
			r.idx.AddFile(f)
			return nil
		})
	}
	return superseded, g.Wait()
}

// SupersededIndexFiles is how many index files the last index load left
// out because newer ones supersede them (kept by an object lock, or left
// by a prune that was killed before removing them).
func (r *Repository) SupersededIndexFiles() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.supersededIndex)
}

// superseded reports whether the last index load left out index file name.
func (r *Repository) superseded(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.supersededIndex[name]
}

// RefreshIndex lists the index files and, if they are not the ones the
// in-memory index was read from (another command wrote or removed some),
// reads the index afresh. It reports whether it did. A handle kept open
// across commands calls it (through Lock) so that it never works from an
// index another command has since changed.
func (r *Repository) RefreshIndex(ctx context.Context) (bool, error) {
	names, err := backend.Names(ctx, r.be, backend.Index)
	if err != nil {
		return false, fmt.Errorf("list index files: %w", err)
	}
	r.mu.Lock()
	same := len(names) == len(r.indexNames)
	for _, n := range names {
		same = same && r.indexNames[n]
	}
	r.mu.Unlock()
	if same {
		return false, nil
	}
	return true, r.ReloadIndex(ctx)
}

// ReloadIndex replaces the in-memory index with one read afresh from the
// index files. Nothing else may use the repository meanwhile; Lock calls it
// before it returns the lock.
func (r *Repository) ReloadIndex(ctx context.Context) error {
	r.idx = index.New()
	r.indexErrors = nil
	r.indexLoaded = false
	return r.LoadIndex(ctx)
}

// IndexLoaded reports whether the index has been loaded (Open with
// DeferIndex leaves it to the first Lock).
func (r *Repository) IndexLoaded() bool { return r.indexLoaded }

// IndexErrors lists the index files that could not be loaded.
func (r *Repository) IndexErrors() []error { return r.indexErrors }

// LoadIndexFile reads, verifies and decodes one index file.
func (r *Repository) LoadIndexFile(ctx context.Context, name string) (*index.File, error) {
	payload, err := r.LoadFile(ctx, backend.Handle{Type: backend.Index, Name: name}, crypto.KindIndex)
	if err != nil {
		return nil, err
	}
	f, err := index.Decode(payload)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", name, err)
	}
	return f, nil
}

// LoadFile reads an envelope file, checks its name hash and opens it.
func (r *Repository) LoadFile(ctx context.Context, h backend.Handle, kind byte) ([]byte, error) {
	data, err := loadVerified(ctx, r.be, h)
	if err != nil {
		return nil, err
	}
	framed, err := r.key.OpenInPlace(kind, data) // data is this call's own
	if err != nil {
		return nil, fmt.Errorf("%v: %w", h, err)
	}
	payload, err := unframe(framed)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", h, err)
	}
	return payload, nil
}

// SaveFile seals payload as an envelope of the given kind and stores it
// under the hash of its bytes, returning that name.
func (r *Repository) SaveFile(ctx context.Context, t backend.FileType, kind byte, payload []byte) (string, error) {
	if t == backend.Index || t == backend.Snapshot {
		if err := r.checkLock(); err != nil {
			return "", err
		}
	}
	data, err := sealFile(r.key, kind, payload)
	if err != nil {
		return "", err
	}
	return r.saveVerified(ctx, t, data)
}

// saveVerified stores data under its hash and checks the stored size.
func (r *Repository) saveVerified(ctx context.Context, t backend.FileType, data []byte) (string, error) {
	nop := func() {}
	return r.saveParts(ctx, t, [][]byte{data}, nop, nop)
}

// saveParts stores the file made of parts, one after another, under its
// hash and checks the stored size. It calls freeParts, exactly once, as
// soon as the parts are no longer needed, and freeSlot, exactly once,
// when the storage no longer holds memory for the file: a backend that
// writes the parts where they lie (backend.Releaser, the local disk) calls
// both once they are written, before it waits for the disk; any other
// gets them copied into one buffer (freeParts), and freeSlot follows the
// upload.
func (r *Repository) saveParts(ctx context.Context, t backend.FileType, parts [][]byte, freeParts, freeSlot func()) (string, error) {
	defer freeSlot()
	defer freeParts()
	h := backend.Handle{Type: t, Name: crypto.HashParts(parts).String()}
	var size int64
	for _, p := range parts {
		size += int64(len(p))
	}
	var err error
	if rl, ok := r.be.(backend.Releaser); ok {
		err = rl.SaveRelease(ctx, h, parts, func() { freeParts(); freeSlot() })
	} else {
		data := parts[0]
		if len(parts) > 1 {
			data = r.getBuf(int(size))
			for _, p := range parts {
				data = append(data, p...)
			}
			defer r.putBuf(data)
		}
		freeParts()
		err = r.be.Save(ctx, h, data)
	}
	if err != nil {
		return "", fmt.Errorf("save %v: %w", h, err)
	}
	fi, err := r.be.Stat(ctx, h)
	if err != nil {
		return "", fmt.Errorf("save %v: %w", h, err)
	}
	if fi.Size != size {
		return "", fmt.Errorf("save %v: stored %d bytes, want %d: %w", h, fi.Size, size, crypto.ErrCorrupt)
	}
	return h.Name, nil
}

// Find resolves a unique name prefix of a file of type t.
func (r *Repository) Find(ctx context.Context, t backend.FileType, prefix string) (string, error) {
	var found []string
	err := r.be.List(ctx, t, func(fi backend.FileInfo) error {
		if strings.HasPrefix(fi.Name, prefix) {
			found = append(found, fi.Name)
		}
		return nil
	})
	switch {
	case err != nil:
		return "", err
	case len(found) == 0:
		return "", fmt.Errorf("no %v file matches %q: %w", t, prefix, ErrNotFound)
	case len(found) > 1:
		return "", fmt.Errorf("prefix %q matches %d %v files; give more digits", prefix, len(found), t)
	}
	return found[0], nil
}

// LocalStorage reports whether the storage answers at the speed of a
// local disk (the local backend, which writes parts where they lie): a
// read costs a system call, not a request.
func (r *Repository) LocalStorage() bool { return r.local }

// Backend returns the storage backend.
func (r *Repository) Backend() backend.Backend { return r.be }

// Config returns the repository config.
func (r *Repository) Config() Config { return r.cfg }

// Key returns the master key, for packages that seal and open data.
func (r *Repository) Key() *crypto.Key { return r.key }

// Index returns the in-memory index.
func (r *Repository) Index() *index.Index { return r.idx }

// KeyName returns the name of the key file that opened the repository.
func (r *Repository) KeyName() string { return r.keyName }

// Close releases the backend. It does not flush; call Flush first.
func (r *Repository) Close() error { return r.be.Close() }

func hostUser() (string, string) {
	host, _ := os.Hostname()
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return host, name
}
