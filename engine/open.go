package engine

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/cache"
	"github.com/cairn-backup/cairn/backend/limit"
	"github.com/cairn-backup/cairn/backend/local"
	"github.com/cairn-backup/cairn/backend/retry"
	"github.com/cairn-backup/cairn/backend/s3"
	"github.com/cairn-backup/cairn/backend/throttle"
	"github.com/cairn-backup/cairn/repo"
	"github.com/zeebo/blake3"
)

// Storage says where a repository is stored and how to reach it.
type Storage struct {
	// Location is a path, local:PATH or s3:https://HOST/BUCKET/PREFIX.
	Location string
	// S3Creds, when not nil, are the S3 credentials as KEY=VALUE lines
	// (AWS_ACCESS_KEY_ID and its kin), used instead of the environment's.
	S3Creds []string
	// EnvPrefix, when S3Creds is nil and PREFIX+AWS_ACCESS_KEY_ID is set,
	// takes the credentials from the PREFIX+AWS_* variables instead (a
	// copy's source may live in another account than its destination).
	EnvPrefix string
	// CACert is a PEM file of extra certificate authorities for S3;
	// Addressing is "path", "dns" or "" (automatic).
	CACert, Addressing string
	// ClientCert is a PEM file with a TLS client certificate and key.
	ClientCert string
	// Region and StorageClass are S3's (from -o s3.region, -o
	// s3.storage-class); "" keeps the default.
	Region, StorageClass string
	// InsecureTLS skips certificate verification (tests only).
	InsecureTLS bool
	// Connections bounds concurrent S3 requests (default 16).
	Connections int
	// RetryTimeout is how long a failing S3 request is retried.
	RetryTimeout time.Duration
	// OnRetry is told about each S3 request that will be tried again.
	OnRetry func(op string, h backend.Handle, err error, wait time.Duration)
	// LimitUpload and LimitDownload cap the rates in KiB/s (0: none).
	LimitUpload, LimitDownload int
	// ObjectLock makes Create make an S3 bucket with object locking.
	ObjectLock bool
	// CacheDir, when set, keeps copies of a remote repository's keys,
	// index files and snapshots below it (package backend/cache), in a
	// folder per location. Local repositories are not cached.
	CacheDir string
	// Wrap, when set, wraps the storage before retries and limits (the
	// command's fault-injection hooks for tests).
	Wrap func(backend.Backend) backend.Backend
}

// StorageOptions lists the -o options ApplyOptions knows, with what they
// set (restic's names).
var StorageOptions = []struct{ Key, Help string }{
	{"s3.region", "the S3 region (default: AWS_DEFAULT_REGION, or the server's)"},
	{"s3.bucket-lookup", "auto, dns or path: how the bucket is addressed (as --s3-addressing; dns is virtual-host style)"},
	{"s3.connections", "concurrent S3 requests (default 16; as --connections)"},
	{"s3.storage-class", "the storage class of stored objects (STANDARD_IA, say)"},
}

// ApplyOptions sets the storage options given as KEY=VALUE (-o), refusing
// unknown keys and bad values.
func (s *Storage) ApplyOptions(kvs []string) error {
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return fmt.Errorf("-o %q: want key=value", kv)
		}
		switch k {
		case "s3.region":
			s.Region = v
		case "s3.bucket-lookup":
			switch v {
			case "auto", "path":
				s.Addressing = v
			case "dns":
				s.Addressing = "virtual"
			default:
				return fmt.Errorf("-o s3.bucket-lookup=%s: want auto, dns or path", v)
			}
		case "s3.connections":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("-o s3.connections=%s: want a number of at least 1", v)
			}
			s.Connections = n
		case "s3.storage-class":
			s.StorageClass = v
		default:
			keys := make([]string, len(StorageOptions))
			for i, o := range StorageOptions {
				keys[i] = o.Key
			}
			return fmt.Errorf("-o %s: unknown option (known: %s)", k, strings.Join(keys, ", "))
		}
	}
	return nil
}

var schemeRE = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*):`)

// OpenStorage opens the storage s names. Network storage is wrapped to
// retry transient errors and to bound concurrent requests; every kind is
// throttled as asked.
func OpenStorage(s Storage) (backend.Backend, error) {
	wrap := func(be backend.Backend) backend.Backend {
		if s.Wrap != nil {
			be = s.Wrap(be)
		}
		if s.LimitUpload > 0 || s.LimitDownload > 0 {
			be = throttle.New(be, max(s.LimitUpload, 0)<<10, max(s.LimitDownload, 0)<<10)
		}
		return be
	}
	loc := s.Location
	if m := schemeRE.FindStringSubmatch(loc); m != nil {
		switch m[1] {
		case "local":
			loc = strings.TrimPrefix(loc, "local:")
		case "s3":
			cfg, err := s3.ParseURL(loc)
			if err != nil {
				return nil, err
			}
			if s.S3Creds != nil {
				applyS3Creds(&cfg, s.S3Creds)
			} else if p := s.EnvPrefix; p != "" && os.Getenv(p+"AWS_ACCESS_KEY_ID") != "" {
				cfg.AccessKey, cfg.SecretKey = os.Getenv(p+"AWS_ACCESS_KEY_ID"), os.Getenv(p+"AWS_SECRET_ACCESS_KEY")
				cfg.SessionToken = os.Getenv(p + "AWS_SESSION_TOKEN")
				if r := os.Getenv(p + "AWS_DEFAULT_REGION"); r != "" {
					cfg.Region = r
				}
			}
			cfg.CACert, cfg.ClientCert, cfg.Addressing, cfg.InsecureTLS = s.CACert, s.ClientCert, s.Addressing, s.InsecureTLS
			if s.Region != "" {
				cfg.Region = s.Region
			}
			cfg.StorageClass, cfg.ObjectLock = s.StorageClass, s.ObjectLock
			be, err := s3.Open(cfg)
			if err != nil {
				return nil, err
			}
			n := s.Connections
			if n <= 0 {
				n = 16
			}
			var out backend.Backend = retry.New(limit.New(wrap(be), n), retry.Config{MaxTotal: s.RetryTimeout, Attempts: 10, OnRetry: s.OnRetry})
			if s.CacheDir != "" {
				sum := blake3.Sum256([]byte(s.Location))
				if out, err = cache.New(out, filepath.Join(s.CacheDir, hex.EncodeToString(sum[:16]))); err != nil {
					return nil, err
				}
			}
			return out, nil
		default:
			return nil, fmt.Errorf("unknown repository scheme %q (supported: a path, local:PATH, s3:https://HOST/BUCKET/PREFIX)", m[1])
		}
	}
	be, err := local.Open(loc)
	if err != nil {
		return nil, err
	}
	return wrap(be), nil
}

// applyS3Creds sets the credentials of KEY=VALUE lines (AWS_ACCESS_KEY_ID
// and its kin) on cfg, replacing those taken from the environment.
func applyS3Creds(cfg *s3.Config, creds []string) {
	cfg.AccessKey, cfg.SecretKey, cfg.SessionToken = "", "", ""
	for _, kv := range creds {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "AWS_ACCESS_KEY_ID":
			cfg.AccessKey = v
		case "AWS_SECRET_ACCESS_KEY":
			cfg.SecretKey = v
		case "AWS_SESSION_TOKEN":
			cfg.SessionToken = v
		case "AWS_DEFAULT_REGION":
			cfg.Region = v
		}
	}
}

// NoRepositoryError says which location holds no repository. Versioned
// says that the storage keeps an earlier version of the config (a
// versioned or object-locked bucket whose files were deleted): "repair
// versions" may bring the repository back.
type NoRepositoryError struct {
	Location  string
	Versioned bool
}

// Error names the location.
func (e *NoRepositoryError) Error() string { return "there is no repository at " + e.Location }

// Unwrap makes it match repo.ErrNoRepository.
func (e *NoRepositoryError) Unwrap() error { return repo.ErrNoRepository }

// Open opens the repository in be, stored at location: it first makes
// sure a repository is there (a NoRepositoryError otherwise, before any
// password is asked for), then asks password for the password, derives
// the key and, unless opts.DeferIndex, loads the index.
func Open(ctx context.Context, be backend.Backend, location string, password func() ([]byte, error), opts repo.Options) (*repo.Repository, error) {
	if _, err := be.Stat(ctx, backend.Handle{Type: backend.Config}); errors.Is(err, backend.ErrNotExist) {
		return nil, &NoRepositoryError{Location: location, Versioned: hiddenConfig(ctx, be)}
	} else if err != nil {
		return nil, fmt.Errorf("open repository: %w", err)
	}
	pw, err := password()
	if err != nil {
		return nil, err
	}
	return repo.Open(ctx, be, pw, opts)
}

// ReadPasswordFile reads a password from a file: its first line, without
// the line end. An empty password is an error.
func ReadPasswordFile(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read password file: %w", err)
	}
	return CheckPassword(trimNewline(b), "password file "+name)
}

// PasswordFromCommand runs command with sh in dir and takes its output,
// without the line end, as the password. Its error output goes to stderr.
func PasswordFromCommand(ctx context.Context, command, dir string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("password command failed: %w", err)
	}
	return CheckPassword(trimNewline(out), "the password command's output")
}

// CheckPassword refuses an empty password, naming where it came from.
func CheckPassword(pw []byte, source string) ([]byte, error) {
	if len(pw) == 0 {
		return nil, fmt.Errorf("%s is empty", source)
	}
	return pw, nil
}

func trimNewline(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// CacheEntry is one repository's cache below a cache folder.
type CacheEntry = cache.Entry

// ListCaches lists the repository caches below root, most recently used
// first.
func ListCaches(root string) ([]CacheEntry, error) { return cache.List(root) }

// CleanupCaches removes the repository caches below root not used for
// maxAge, and returns them.
func CleanupCaches(root string, maxAge time.Duration) ([]CacheEntry, error) {
	return cache.Cleanup(root, time.Now().Add(-maxAge))
}

// ErrNoVersions says that the storage keeps no versions to recover from.
var ErrNoVersions = errors.New("the storage keeps no earlier versions of its files (recovery needs an S3 bucket with versioning, which object lock turns on)")

// KeepsVersions reports whether be keeps earlier versions of its files
// (an S3 bucket with versioning), from which RecoverAsOf can bring back
// damaged or deleted files whole.
func KeepsVersions(ctx context.Context, be backend.Backend) bool {
	v := backend.FindVersioner(be)
	if v == nil {
		return false
	}
	ok, err := v.Versioned(ctx)
	return err == nil && ok
}

// hiddenConfig reports whether the storage keeps an earlier version of a
// config that is not visible (deleted, with its versions kept).
func hiddenConfig(ctx context.Context, be backend.Backend) bool {
	v := backend.FindVersioner(be)
	if v == nil {
		return false
	}
	ok, err := v.HasVersions(backend.BypassCache(ctx), backend.Handle{Type: backend.Config})
	return err == nil && ok
}

// RecoverOptions say what RecoverAsOf brings back.
type RecoverOptions struct {
	// AsOf is the time to go back to; zero means the newest intact state
	// (each file's newest version whose bytes match its name), which only
	// an object-locked repository allows: there a delete marker is never
	// cairn's own.
	AsOf   time.Time
	DryRun bool
	// Password returns the repository's password, asked only when files
	// are to be copied: the copies carry the retention mode and period of
	// the restored repository's config, which only the password opens.
	Password func(ctx context.Context) ([]byte, error)
}

// ErrUnlockedAuto is returned when RecoverAsOf is asked for the newest
// intact state of a repository without an object lock.
var ErrUnlockedAuto = errors.New("the repository has no object lock, so a delete marker may be a prune's: give --as-of, a time before the attack")

// RecoverAsOf brings the repository's storage back from the versions the
// storage keeps (backend.Versioner), after an attacker with the client's
// or the owner's credentials deleted or overwrote files, or wrote garbage
// under new names: every file gets its newest version at or before
// opts.AsOf whose bytes match its name (damaged versions are skipped and
// reported), and every copy is locked with the mode and period of the
// restored config, never the bucket's default retention.
func RecoverAsOf(ctx context.Context, be backend.Backend, opts RecoverOptions) (backend.AsOfReport, error) {
	v := backend.FindVersioner(be)
	if v == nil {
		return backend.AsOfReport{}, ErrNoVersions
	}
	aopts := backend.AsOfOptions{Time: opts.AsOf, DryRun: opts.DryRun, Intact: repo.FileIntact,
		Policy: func(ctx context.Context, view backend.Backend) (string, time.Duration, error) {
			if opts.Password == nil {
				return "", 0, errors.New("the password is needed to read the restored repository's lock policy")
			}
			pw, err := opts.Password(ctx)
			if err != nil {
				return "", 0, err
			}
			r, err := repo.Open(ctx, view, pw, repo.Options{DeferIndex: true})
			if err != nil {
				return "", 0, fmt.Errorf("open the repository as it will be restored: %w", err)
			}
			lock := r.LockPolicy()
			if !lock.Enabled() && opts.AsOf.IsZero() {
				return "", 0, ErrUnlockedAuto
			}
			return lock.Mode, lock.Period, nil
		}}
	return v.RestoreAsOf(backend.BypassCache(ctx), aopts)
}
