package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/wire"
)

// Lock timing (design §10): a lock is refreshed every RefreshInterval and
// is stale once StaleAfter has passed since it was written.
const (
	RefreshInterval = 5 * time.Minute
	StaleAfter      = 30 * time.Minute
)

// ErrLocked is returned (wrapped in a *LockedError) when a conflicting lock
// is held.
var ErrLocked = errors.New("repository is locked")

// ErrLockLost is returned when a command's lock could not be kept fresh: it
// may have been considered stale and removed, so the command must not
// write a snapshot or delete anything.
var ErrLockLost = errors.New("the repository lock went stale (was the machine suspended?); stopping before writing anything that depends on it")

// LockInfo is the content of a lock file.
type LockInfo struct {
	Name      string // file name
	Time      time.Time
	Exclusive bool
	Host      string
	User      string
	PID       int
	UID, GID  uint32
	// Ends names the lock file this one replaces (a refresh) or, with
	// Released, releases (an unlock): written by a command whose
	// credentials cannot delete (append-only), design §10.
	Ends     string
	Released bool
}

// LockedError says who holds the lock that stopped us.
type LockedError struct{ Holder LockInfo }

// Error describes the holder.
func (e *LockedError) Error() string {
	kind := "a shared"
	if e.Holder.Exclusive {
		kind = "an exclusive"
	}
	return fmt.Sprintf("repository is locked: %s lock is held by PID %d on host %s (user %s) since %s (lock %s)",
		kind, e.Holder.PID, e.Holder.Host, e.Holder.User, e.Holder.Time.Local().Format(time.DateTime), shortName(e.Holder.Name))
}

// Unwrap makes it match ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Lock fields (doc/design.md §10). The numbers are the stored format:
// never renumber, never reuse one.
const (
	lockVersionField   = 1
	lockTimeField      = 2
	lockExclusiveField = 3
	lockHostField      = 4
	lockUserField      = 5
	lockPIDField       = 6
	lockUIDField       = 7
	lockGIDField       = 8
	lockEndsField      = 9
	lockReleasedField  = 10

	lockVersion = 1
)

func (l *LockInfo) encode() []byte {
	var e wire.Encoder
	e.Uint(lockVersionField, lockVersion)
	e.Int(lockTimeField, l.Time.UnixNano())
	if l.Exclusive {
		e.Uint(lockExclusiveField, 1)
	}
	e.Str(lockHostField, l.Host)
	e.Str(lockUserField, l.User)
	e.Uint(lockPIDField, uint64(l.PID))
	e.Uint(lockUIDField, uint64(l.UID))
	e.Uint(lockGIDField, uint64(l.GID))
	if l.Ends != "" {
		e.Str(lockEndsField, l.Ends)
	}
	if l.Released {
		e.Uint(lockReleasedField, 1)
	}
	return e.B
}

// DecodeLock parses a lock payload.
func DecodeLock(b []byte) (LockInfo, error) {
	var l LockInfo
	version := uint64(0)
	err := wire.Decode(b, func(f wire.Field) error {
		switch f.Num {
		case lockVersionField:
			version = f.U
		case lockTimeField:
			l.Time = time.Unix(0, f.Int()).UTC()
		case lockExclusiveField:
			l.Exclusive = f.U == 1
		case lockHostField:
			l.Host = string(f.B)
		case lockUserField:
			l.User = string(f.B)
		case lockPIDField:
			l.PID = int(f.U)
		case lockUIDField:
			l.UID = uint32(f.U)
		case lockGIDField:
			l.GID = uint32(f.U)
		case lockEndsField:
			l.Ends = string(f.B)
		case lockReleasedField:
			l.Released = f.U == 1
		}
		return nil
	})
	if err != nil {
		return l, fmt.Errorf("lock: %v: %w", err, crypto.ErrCorrupt)
	}
	if version != lockVersion {
		return l, fmt.Errorf("lock version %d: %w", version, crypto.ErrCorrupt)
	}
	return l, nil
}

// Stale reports whether a lock may be ignored and removed: written more
// than StaleAfter ago, or held by a process of this host that is gone.
func (r *Repository) Stale(l LockInfo) bool {
	if r.opts.Now().Sub(l.Time) > StaleAfter {
		return true
	}
	host, _ := os.Hostname()
	return l.Host == host && l.PID > 0 && !processAlive(l.PID)
}

// Locks lists the locks in force: the lock files but those a later one
// ends (replaced by a refresh, or released) and release markers. Damaged
// files are returned with an error each.
func (r *Repository) Locks(ctx context.Context) ([]LockInfo, []error, error) {
	all, bad, err := r.lockFiles(ctx)
	if err != nil {
		return nil, nil, err
	}
	ended := map[string]bool{}
	for _, l := range all {
		if l.Ends != "" {
			ended[l.Ends] = true
		}
	}
	var locks []LockInfo
	for _, l := range all {
		if !l.Released && !ended[l.Name] {
			locks = append(locks, l)
		}
	}
	return locks, bad, nil
}

// lockFiles reads every lock file; damaged ones are returned with an
// error each.
func (r *Repository) lockFiles(ctx context.Context) ([]LockInfo, []error, error) {
	names, err := backend.Names(ctx, r.be, backend.Lock)
	if err != nil {
		return nil, nil, err
	}
	var locks []LockInfo
	var bad []error
	for _, name := range names {
		payload, err := r.LoadFile(ctx, backend.Handle{Type: backend.Lock, Name: name}, crypto.KindLock)
		if errors.Is(err, backend.ErrNotExist) {
			continue // removed meanwhile
		}
		var l LockInfo
		if err == nil {
			l, err = DecodeLock(payload)
		}
		if err != nil {
			bad = append(bad, fmt.Errorf("lock %s: %w", shortName(name), err))
			continue
		}
		l.Name = name
		locks = append(locks, l)
	}
	return locks, bad, nil
}

// Lock is a held repository lock.
type Lock struct {
	r         *Repository
	mu        sync.Mutex // guards info, lost
	info      LockInfo
	lost      error
	stop      chan struct{}
	done      chan struct{}
	released  bool
	refreshed time.Time
}

// LockOptions configure Lock.
type LockOptions struct {
	Exclusive bool
	// Retry keeps trying for this long while another lock conflicts.
	Retry time.Duration
	// NoRefresh disables the background refresh (tests call Refresh).
	NoRefresh bool
	// Sleep waits between retries; nil means time.Sleep. Tests inject it.
	Sleep func(time.Duration)
}

// Lock takes a shared or exclusive lock: it writes its lock file, then
// checks for conflicting locks that are not stale (removing its own file
// and failing, or retrying, if there are). While held, the lock is
// refreshed in the background and every write of an index file or a
// snapshot, and every deletion, first checks that the lock is still fresh.
//
// Lock, then load (design §12.9): once the lock is held, Lock loads the
// index if Open deferred it (Options.DeferIndex), loads it afresh if it
// had to wait for another command's lock, which may have repacked and
// deleted packs meanwhile, and otherwise refreshes it if the index files
// changed since it was read (a handle kept across commands). What a
// command reads before it holds its lock is never trusted after it.
func (r *Repository) Lock(ctx context.Context, opts LockOptions) (*Lock, error) {
	if opts.Sleep == nil {
		opts.Sleep = func(d time.Duration) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		}
	}
	deadline := r.opts.Now().Add(opts.Retry)
	waited := false
	for {
		l, err := r.tryLock(ctx, opts.Exclusive)
		var le *LockedError
		if err == nil || !errors.As(err, &le) || !r.opts.Now().Before(deadline) {
			if err != nil {
				return nil, err
			}
			if !opts.NoRefresh {
				go l.refreshLoop()
			} else {
				close(l.done)
			}
			r.mu.Lock()
			r.lock = l
			r.mu.Unlock()
			var err error
			switch {
			case !r.indexLoaded || waited:
				err = r.ReloadIndex(ctx)
			default:
				_, err = r.RefreshIndex(ctx) // a handle kept across commands
			}
			if err != nil {
				_ = l.Unlock()
				return nil, err
			}
			return l, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		waited = true
		opts.Sleep(min(5*time.Second, deadline.Sub(r.opts.Now())+time.Millisecond))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

func (r *Repository) tryLock(ctx context.Context, exclusive bool) (*Lock, error) {
	host, user := hostUser()
	info := LockInfo{Time: r.opts.Now().UTC(), Exclusive: exclusive, Host: host, User: user, PID: os.Getpid(),
		UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
	if err := r.conflict(ctx, exclusive, ""); err != nil {
		return nil, err
	}
	name, err := r.SaveFile(ctx, backend.Lock, crypto.KindLock, info.encode())
	if err != nil {
		return nil, fmt.Errorf("write lock: %w", err)
	}
	info.Name = name
	// Another command may have locked at the same moment: check again now
	// that our file is visible, and back off if there is a conflict.
	if err := r.conflict(ctx, exclusive, name); err != nil {
		_ = r.releaseLock(context.WithoutCancel(ctx), info)
		return nil, err
	}
	return &Lock{r: r, info: info, stop: make(chan struct{}), done: make(chan struct{}), refreshed: r.opts.Now()}, nil
}

// conflict returns a *LockedError for a fresh lock that conflicts.
func (r *Repository) conflict(ctx context.Context, exclusive bool, own string) error {
	locks, _, err := r.Locks(ctx)
	if err != nil {
		return err
	}
	for _, l := range locks {
		if l.Name == own || r.Stale(l) {
			continue
		}
		if exclusive || l.Exclusive {
			return &LockedError{Holder: l}
		}
	}
	return nil
}

func (l *Lock) refreshLoop() {
	defer close(l.done)
	t := time.NewTicker(RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			_ = l.Refresh(context.Background())
		}
	}
}

// Refresh writes a new lock file with the current time and removes the
// old one. If the previous refresh is already older than StaleAfter (the
// process was suspended), or the lock file is gone, the lock is lost for
// good.
func (l *Lock) Refresh(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return l.lost
	}
	now := l.r.opts.Now()
	if now.Sub(l.refreshed) >= StaleAfter {
		l.lost = ErrLockLost
		return l.lost
	}
	old := l.info.Name
	if _, err := l.r.be.Stat(ctx, backend.Handle{Type: backend.Lock, Name: old}); errors.Is(err, backend.ErrNotExist) {
		l.lost = ErrLockLost
		return l.lost
	}
	info := l.info
	info.Time, info.Ends = now.UTC(), old
	name, err := l.r.SaveFile(ctx, backend.Lock, crypto.KindLock, info.encode())
	if err != nil {
		return fmt.Errorf("refresh lock: %w", err)
	}
	info.Name = name
	l.info, l.refreshed = info, now
	_ = l.r.be.Remove(ctx, backend.Handle{Type: backend.Lock, Name: old})
	return nil
}

// Valid reports ErrLockLost when the lock can no longer be trusted: its
// last refresh is StaleAfter old, minus a safety margin, or it was lost.
func (l *Lock) Valid() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return l.lost
	}
	if l.r.opts.Now().Sub(l.refreshed) >= StaleAfter-RefreshInterval {
		l.lost = ErrLockLost
	}
	return l.lost
}

// Info returns the current lock file's content.
func (l *Lock) Info() LockInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

// Unlock stops refreshing and removes the lock file.
func (l *Lock) Unlock() error {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	l.r.mu.Lock()
	if l.r.lock == l {
		l.r.lock = nil
	}
	l.r.mu.Unlock()
	return l.r.releaseLock(context.Background(), l.Info())
}

// releaseLock removes a lock file; credentials that cannot delete
// (append-only) write a release marker instead, which ends it just as
// well (design §10).
func (r *Repository) releaseLock(ctx context.Context, info LockInfo) error {
	err := r.be.Remove(ctx, backend.Handle{Type: backend.Lock, Name: info.Name})
	switch {
	case err == nil, errors.Is(err, backend.ErrNotExist):
		return nil
	case errors.Is(err, backend.ErrPermission), errors.Is(err, backend.ErrLocked):
		// No right to delete, or a bucket default retention locks lock
		// files too: a release marker ends the lock all the same.
		marker := info
		marker.Time, marker.Ends, marker.Released = r.opts.Now().UTC(), info.Name, true
		_, err = r.SaveFile(ctx, backend.Lock, crypto.KindLock, marker.encode())
	}
	return err
}

// checkLock is called before every write of an index file or snapshot and
// before every deletion: without a fresh lock, nothing is written.
func (r *Repository) checkLock() error {
	r.mu.Lock()
	l := r.lock
	r.mu.Unlock()
	if l == nil {
		return nil
	}
	return l.Valid()
}

// RemoveLocks removes stale locks and ended lock files with their release
// markers, or every lock file (damaged ones too) with all. It returns how
// many it removed, and how many the object lock retains (a bucket default
// keeps lock files too; a later unlock removes them once it lapses).
func (r *Repository) RemoveLocks(ctx context.Context, all bool) (removed, retained int, err error) {
	var names []string
	if all {
		var err error
		if names, err = backend.Names(ctx, r.be, backend.Lock); err != nil {
			return 0, 0, err
		}
	} else {
		all, _, err := r.lockFiles(ctx)
		if err != nil {
			return 0, 0, err
		}
		active, _, err := r.Locks(ctx)
		if err != nil {
			return 0, 0, err
		}
		live := map[string]bool{}
		for _, l := range active {
			live[l.Name] = !r.Stale(l)
		}
		// Ended lock files and stale locks first, then the markers that
		// ended them (a marker removed before its lock would revive it).
		var markers []string
		for _, l := range all {
			switch {
			case l.Released || (l.Ends != "" && !live[l.Name]):
				markers = append(markers, l.Name)
			case !live[l.Name]:
				names = append(names, l.Name)
			}
		}
		names = append(names, markers...)
	}
	for _, name := range names {
		err := r.be.Remove(ctx, backend.Handle{Type: backend.Lock, Name: name})
		if errors.Is(err, backend.ErrLocked) {
			retained++ // retained by a bucket default: removed once it lapses
			continue
		}
		if err != nil && !errors.Is(err, backend.ErrNotExist) {
			return removed, retained, err
		}
		removed++
	}
	return removed, retained, nil
}

// LockState says what a lock file is: "in force", "stale" (in force, but
// not refreshed, or its process gone), "ended" (a later file ends it) or
// "release marker".
func (r *Repository) LockState(ctx context.Context, l LockInfo) (string, error) {
	if l.Released {
		return "release marker", nil
	}
	active, _, err := r.Locks(ctx)
	if err != nil {
		return "", err
	}
	for _, a := range active {
		if a.Name == l.Name {
			if r.Stale(a) {
				return "stale", nil
			}
			return "in force", nil
		}
	}
	return "ended", nil
}

// remove deletes a file after checking that the lock is still fresh.
func (r *Repository) remove(ctx context.Context, h backend.Handle) error {
	if err := r.checkLock(); err != nil {
		return err
	}
	err := r.be.Remove(ctx, h)
	if errors.Is(err, backend.ErrNotExist) {
		return nil
	}
	return err
}

// LoadLock reads the lock file named by a unique prefix.
func (r *Repository) LoadLock(ctx context.Context, prefix string) (LockInfo, error) {
	name, err := r.Find(ctx, backend.Lock, prefix)
	if err != nil {
		return LockInfo{}, err
	}
	payload, err := r.LoadFile(ctx, backend.Handle{Type: backend.Lock, Name: name}, crypto.KindLock)
	if err != nil {
		return LockInfo{}, err
	}
	l, err := DecodeLock(payload)
	l.Name = name
	return l, err
}

// CanDelete finds out whether the storage lets these credentials delete:
// it writes a canary (a release marker, which no reader takes for a lock)
// and removes it. A command that deletes asks first, so that append-only
// credentials fail before anything is written (backend.ErrPermission).
func (r *Repository) CanDelete(ctx context.Context) error {
	host, user := hostUser()
	canary := LockInfo{Time: r.opts.Now().UTC(), Host: host, User: user, PID: os.Getpid(), Released: true}
	name, err := r.SaveFile(ctx, backend.Lock, crypto.KindLock, canary.encode())
	if err != nil {
		return err
	}
	err = r.be.Remove(ctx, backend.Handle{Type: backend.Lock, Name: name})
	switch {
	case errors.Is(err, backend.ErrPermission) && !errors.Is(err, backend.ErrNoCredentials):
		return fmt.Errorf("%w: %w", ErrCannotDelete, err)
	case errors.Is(err, backend.ErrLocked):
		return nil // the right is there; a bucket default retention keeps the canary a while
	}
	return err
}
