// Package s3 stores a repository in an S3 bucket (AWS, MinIO or any
// compatible server) with github.com/minio/minio-go/v7.
//
// A PUT is atomic on S3, so Save needs no temporary object; large packs go
// up as multipart uploads, listings follow every page, and loads are range
// reads. Credentials come from the environment and are never printed.
package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Config locates a bucket.
type Config struct {
	Endpoint     string // host[:port]
	Secure       bool   // https
	Bucket       string
	Prefix       string // folder inside the bucket, without slashes at the ends
	Region       string
	AccessKey    string
	SecretKey    string
	SessionToken string
	// Addressing is "path" (http://host/bucket/key, what MinIO expects),
	// "virtual" (http://bucket.host/key) or "auto" (virtual for AWS hosts).
	Addressing string
	CACert     string // PEM file of a private CA, or ""
	// ClientCert is a PEM file holding a client certificate and its
	// private key, for servers that require TLS client authentication
	// (restic's --tls-client-cert), or "".
	ClientCert string
	// StorageClass is the storage class of stored objects ("" for the
	// bucket's default; STANDARD_IA, say).
	StorageClass string
	// ObjectLock makes Create create the bucket with object locking (and
	// so versioning) enabled.
	ObjectLock bool
	// Now is the clock of retention decisions (time.Now when nil).
	Now func() time.Time
	// InsecureTLS skips the verification of the server's certificate (a
	// test server with a self-signed certificate). Never for real data.
	InsecureTLS bool
}

// ParseURL parses "s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX]" and takes
// credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN and the region from AWS_DEFAULT_REGION.
func ParseURL(s string) (Config, error) {
	rest, ok := strings.CutPrefix(s, "s3:")
	if !ok {
		return Config{}, fmt.Errorf("%q is not an s3: location", s)
	}
	var c Config
	switch {
	case strings.HasPrefix(rest, "https://"):
		c.Secure, rest = true, strings.TrimPrefix(rest, "https://")
	case strings.HasPrefix(rest, "http://"):
		rest = strings.TrimPrefix(rest, "http://")
	default:
		return Config{}, errors.New("s3 location must look like s3:https://HOST[:PORT]/BUCKET[/PREFIX]")
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return Config{}, errors.New("s3 location must name a host and a bucket: s3:https://HOST[:PORT]/BUCKET[/PREFIX]")
	}
	c.Endpoint, c.Bucket = parts[0], parts[1]
	if len(parts) == 3 {
		c.Prefix = strings.Trim(parts[2], "/")
	}
	c.AccessKey = os.Getenv("AWS_ACCESS_KEY_ID")
	c.SecretKey = os.Getenv("AWS_SECRET_ACCESS_KEY")
	c.SessionToken = os.Getenv("AWS_SESSION_TOKEN")
	c.Region = os.Getenv("AWS_DEFAULT_REGION")
	c.Addressing = "auto"
	return c, nil
}

// Backend is an S3 bucket (and prefix).
type Backend struct {
	client *minio.Client
	cfg    Config

	mu         sync.RWMutex
	lockMode   minio.RetentionMode // "" until SetRetention
	lockPeriod time.Duration
	// byDefault: the bucket's default retention covers the policy and
	// these credentials may not set one per object (append-only keys
	// without s3:PutObjectRetention), so Save sends none.
	byDefault bool
}

var _ backend.Retainer = (*Backend)(nil)

func (b *Backend) now() time.Time {
	if b.cfg.Now != nil {
		return b.cfg.Now()
	}
	return time.Now()
}

// SetRetention makes every later Save (but of lock files, which must go
// when released) lock its object for period in mode
// ("governance" or "compliance"), and Remove delete an object's versions
// (an object-locked bucket keeps versions: a plain delete would only
// hide the object behind a delete marker).
func (b *Backend) SetRetention(mode string, period time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lockMode, b.lockPeriod = minio.RetentionMode(strings.ToUpper(mode)), period
}

func (b *Backend) retention() (minio.RetentionMode, time.Duration) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.lockMode, b.lockPeriod
}

// SetBucketDefault gives the bucket a default retention of mode for period
// (whole days): objects written without a retention of their own, by
// credentials that may not set one, are retained all the same.
func (b *Backend) SetBucketDefault(ctx context.Context, mode string, period time.Duration) error {
	if period%(24*time.Hour) != 0 {
		return nil // only whole days can be a bucket default; writers set it per object
	}
	m := minio.RetentionMode(strings.ToUpper(mode))
	days, unit := uint(period/(24*time.Hour)), minio.Days
	if err := b.client.SetBucketObjectLockConfig(ctx, b.cfg.Bucket, &m, &days, &unit); err != nil {
		return b.wrap("set the bucket's default retention", err)
	}
	return nil
}

// defaultCovers reports whether the bucket's default retention is the
// repository's policy or longer.
func (b *Backend) defaultCovers(ctx context.Context) bool {
	mode, period := b.retention()
	_, m, validity, unit, err := b.client.GetObjectLockConfig(ctx, b.cfg.Bucket)
	if err != nil || m == nil || validity == nil || unit == nil || *m != mode {
		return false
	}
	d := time.Duration(*validity) * 24 * time.Hour
	if *unit == minio.Years {
		d = time.Duration(*validity) * 365 * 24 * time.Hour
	}
	return d >= period
}

// Retention returns an object's retention (zero without one).
func (b *Backend) Retention(ctx context.Context, h backend.Handle) (backend.Retention, error) {
	mode, until, err := b.client.GetObjectRetention(ctx, b.cfg.Bucket, b.key(h), "")
	if err != nil {
		if resp := minio.ToErrorResponse(err); resp.Code == "NoSuchObjectLockConfiguration" || strings.Contains(resp.Message, "does not have retention") {
			return backend.Retention{}, nil
		}
		return backend.Retention{}, b.wrap("retention of "+h.String(), err)
	}
	var r backend.Retention
	if mode != nil {
		r.Mode = strings.ToLower(string(*mode))
	}
	if until != nil {
		r.Until = *until
	}
	return r, nil
}

// Retain extends an object's retention to until in the repository's mode
// (SetRetention); a later one is kept, and a weaker mode is raised
// (governance to compliance needs the governance bypass, which the
// maintenance credentials that run prune hold).
func (b *Backend) Retain(ctx context.Context, h backend.Handle, until time.Time) error {
	cur, err := b.Retention(ctx, h)
	if err != nil {
		return err
	}
	want, _ := b.retention()
	if want == "" {
		return fmt.Errorf("retain %v: the repository has no lock mode", h)
	}
	curMode := minio.RetentionMode(strings.ToUpper(cur.Mode))
	weaker := modeRank(curMode) < modeRank(want)
	if !cur.Until.Before(until) && !weaker {
		return nil
	}
	mode := curMode
	if weaker || mode == "" {
		mode = want
	}
	if cur.Until.After(until) {
		until = cur.Until
	}
	until = until.UTC().Truncate(time.Second).Add(time.Second)
	opts := minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &until, GovernanceBypass: curMode == minio.Governance && mode != minio.Governance}
	if err := b.client.PutObjectRetention(ctx, b.cfg.Bucket, b.key(h), opts); err != nil {
		return b.wrap("retain "+h.String(), err)
	}
	return nil
}

// modeRank orders lock modes by strength: none, governance, compliance.
func modeRank(m minio.RetentionMode) int {
	switch m {
	case minio.Compliance:
		return 2
	case minio.Governance:
		return 1
	}
	return 0
}

// BucketDefault returns the bucket's default retention ("" and 0: none).
func (b *Backend) BucketDefault(ctx context.Context) (string, time.Duration, error) {
	_, m, validity, unit, err := b.client.GetObjectLockConfig(ctx, b.cfg.Bucket)
	if err != nil {
		return "", 0, b.wrap("object lock configuration of bucket "+b.cfg.Bucket, err)
	}
	if m == nil || validity == nil || unit == nil {
		return "", 0, nil
	}
	d := time.Duration(*validity) * 24 * time.Hour
	if *unit == minio.Years {
		d = time.Duration(*validity) * 365 * 24 * time.Hour
	}
	return strings.ToLower(string(*m)), d, nil
}

// ProbeBypass writes data under h locked in governance mode for a minute
// and tries to delete that version with the governance bypass.
func (b *Backend) ProbeBypass(ctx context.Context, h backend.Handle, data []byte) (bool, error) {
	until := b.now().Add(time.Minute).UTC().Truncate(time.Second)
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", Mode: minio.Governance, RetainUntilDate: until}
	info, err := b.client.PutObject(ctx, b.cfg.Bucket, b.key(h), bytes.NewReader(data), int64(len(data)), opts)
	if err != nil && minio.ToErrorResponse(err).Code == "AccessDenied" {
		// Credentials that may not set a retention: the bucket's default
		// locks what they write, and that is what they would face.
		opts.Mode, opts.RetainUntilDate = "", time.Time{}
		info, err = b.client.PutObject(ctx, b.cfg.Bucket, b.key(h), bytes.NewReader(data), int64(len(data)), opts)
	}
	if err != nil {
		return false, b.wrap("probe: save "+h.String(), err)
	}
	err = b.client.RemoveObject(ctx, b.cfg.Bucket, b.key(h), minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true})
	if err == nil {
		return true, nil
	}
	werr := b.wrap("probe: delete "+h.String(), err)
	if errors.Is(werr, backend.ErrPermission) || errors.Is(werr, backend.ErrLocked) {
		return false, nil
	}
	return false, werr
}

var _ backend.BucketRetainer = (*Backend)(nil)

func init() {
	// cairn's retry wrapper retries whole requests with its own bounds;
	// retrying inside minio-go as well would multiply the waits.
	minio.MaxRetry = 1
}

// Open connects to the bucket; it does not create it (see Create).
func Open(cfg Config) (*Backend, error) {
	tr, err := minio.DefaultTransport(cfg.Secure)
	if err != nil {
		return nil, err
	}
	if cfg.CACert != "" {
		pem, err := os.ReadFile(cfg.CACert)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s holds no PEM certificate", cfg.CACert)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if cfg.ClientCert != "" {
		pem, err := os.ReadFile(cfg.ClientCert)
		if err != nil {
			return nil, fmt.Errorf("--tls-client-cert: %w", err)
		}
		cert, err := tls.X509KeyPair(pem, pem)
		if err != nil {
			return nil, fmt.Errorf("--tls-client-cert %s: want one PEM file with the certificate and its private key: %w", cfg.ClientCert, err)
		}
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	}
	if cfg.InsecureTLS {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.InsecureSkipVerify = true
	}
	var lookup minio.BucketLookupType
	switch cfg.Addressing {
	case "path":
		lookup = minio.BucketLookupPath
	case "virtual":
		lookup = minio.BucketLookupDNS
	case "auto", "":
		lookup = minio.BucketLookupAuto
	default:
		return nil, fmt.Errorf("s3 addressing %q: want path, virtual or auto", cfg.Addressing)
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken),
		Secure:       cfg.Secure,
		Region:       cfg.Region,
		Transport:    tr,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 endpoint %s: %w", cfg.Endpoint, err)
	}
	return &Backend{client: client, cfg: cfg}, nil
}

// Create makes the bucket if it does not exist.
func (b *Backend) Create(ctx context.Context) error {
	ok, err := b.client.BucketExists(ctx, b.cfg.Bucket)
	if err != nil {
		return b.wrap("bucket "+b.cfg.Bucket, err)
	}
	if ok {
		return nil
	}
	if err := b.client.MakeBucket(ctx, b.cfg.Bucket, minio.MakeBucketOptions{Region: b.cfg.Region, ObjectLocking: b.cfg.ObjectLock}); err != nil {
		return b.wrap("create bucket "+b.cfg.Bucket, err)
	}
	return nil
}

func (b *Backend) key(h backend.Handle) string { return path.Join(b.cfg.Prefix, h.Path()) }

// wrap maps S3 errors: missing objects to backend.ErrNotExist, client
// errors (4xx but timeouts and throttling) to permanent ones.
func (b *Backend) wrap(what string, err error) error {
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchBucket":
		return fmt.Errorf("%s: bucket %s does not exist: %w", what, b.cfg.Bucket, backend.ErrNotExist)
	case resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s: %w", what, backend.ErrNotExist)
	case strings.Contains(strings.ToLower(resp.Message), "objectlockconfiguration") || strings.Contains(strings.ToLower(resp.Message), "object lock configuration"):
		return backend.Permanent(fmt.Errorf("%s: bucket %s was not created with object locking: put the repository in a new bucket (cairn init --retention-mode creates it)", what, b.cfg.Bucket))
	case resp.Code == "ObjectLocked" || strings.Contains(resp.Message, "WORM protected"):
		return backend.Permanent(fmt.Errorf("%s: %w", what, backend.ErrLocked))
	case resp.Code == "AccessDenied" && b.cfg.AccessKey == "":
		return backend.Permanent(fmt.Errorf("%s: %w: %w", what, backend.ErrNoCredentials, backend.ErrPermission))
	case resp.Code == "AccessDenied":
		return backend.Permanent(fmt.Errorf("%s: %w (%s)", what, backend.ErrPermission, resp.Message))
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return backend.Permanent(fmt.Errorf("%s: %s (%s)", what, resp.Message, resp.Code))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Save uploads data in one PUT (multipart above 16 MiB) and checks the
// size, and for single-part uploads the MD5, that the server reports.
//
// The MD5 is computed once: a single-part upload is checked against the
// ETag the server computed from what it stored (end to end, and also on
// servers that ignore Content-MD5); multipart parts carry Content-MD5,
// which the server checks. A payload SHA-256 for the signature would hash
// the same bytes again, so it is not computed (the request is signed with
// UNSIGNED-PAYLOAD). Profiling a 1 GiB backup to MinIO showed the two
// extra hashes at 23% of cairn's CPU.
func (b *Backend) Save(ctx context.Context, h backend.Handle, data []byte) error {
	if err := h.Valid(); err != nil {
		return err
	}
	multipart := len(data) > 16<<20
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", PartSize: 16 << 20,
		SendContentMd5: multipart, DisableContentSha256: true, StorageClass: b.cfg.StorageClass}
	mode, period := b.retention()
	b.mu.RLock()
	byDefault := b.byDefault
	b.mu.RUnlock()
	if mode != "" && !byDefault && h.Type != backend.Lock { // locks must go when released
		opts.Mode, opts.RetainUntilDate = mode, b.now().Add(period).UTC().Truncate(time.Second).Add(time.Second)
	}
	info, err := b.client.PutObject(ctx, b.cfg.Bucket, b.key(h), bytes.NewReader(data), int64(len(data)), opts)
	if err != nil && opts.Mode != "" && minio.ToErrorResponse(err).Code == "AccessDenied" {
		if !b.defaultCovers(ctx) {
			// Writing without a retention would leave the file locked
			// more weakly than the repository asks, or not at all.
			return backend.Permanent(fmt.Errorf("save %v: %w: these credentials may not set a retention, and the bucket's default retention "+
				"does not cover the repository's (%s for %v): \"cairn prune\" with the maintenance credentials sets it again",
				h, backend.ErrPermission, strings.ToLower(string(mode)), period))
		}
		// Credentials that may not set a retention (append-only keys
		// without s3:PutObjectRetention): the bucket's default locks
		// what they write.
		b.mu.Lock()
		b.byDefault = true
		b.mu.Unlock()
		opts.Mode, opts.RetainUntilDate = "", time.Time{}
		info, err = b.client.PutObject(ctx, b.cfg.Bucket, b.key(h), bytes.NewReader(data), int64(len(data)), opts)
	}
	if err != nil {
		return b.wrap("save "+h.String(), err)
	}
	if info.Size != int64(len(data)) {
		return fmt.Errorf("save %v: server stored %d bytes, sent %d", h, info.Size, len(data))
	}
	// An ETag that is not an MD5 (SSE-KMS on AWS, which needs https, whose
	// TLS records carry their own integrity check) cannot be checked.
	if etag := strings.Trim(info.ETag, `"`); !multipart && len(etag) == 32 {
		sum := md5.Sum(data)
		if !strings.EqualFold(etag, hex.EncodeToString(sum[:])) {
			return fmt.Errorf("save %v: server reports MD5 %s, sent %x", h, info.ETag, sum)
		}
	}
	return nil
}

// Load range-reads the object.
func (b *Backend) Load(ctx context.Context, h backend.Handle, offset, length int64) (io.ReadCloser, error) {
	if err := h.Valid(); err != nil {
		return nil, err
	}
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("load %v: invalid range %d+%d", h, offset, length)
	}
	opts := minio.GetObjectOptions{}
	switch {
	case length > 0:
		if err := opts.SetRange(offset, offset+length-1); err != nil {
			return nil, err
		}
	case offset > 0:
		if err := opts.SetRange(offset, 0); err != nil {
			return nil, err
		}
	}
	// The core API performs the request here, so a missing object is
	// reported by Load itself, and the body is exactly the range asked for.
	body, _, _, err := (&minio.Core{Client: b.client}).GetObject(ctx, b.cfg.Bucket, b.key(h), opts)
	if err != nil {
		if minio.ToErrorResponse(err).Code == "InvalidRange" {
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		return nil, b.wrap("load "+h.String(), err)
	}
	return body, nil
}

// Stat returns the object's size.
func (b *Backend) Stat(ctx context.Context, h backend.Handle) (backend.FileInfo, error) {
	if err := h.Valid(); err != nil {
		return backend.FileInfo{}, err
	}
	info, err := b.client.StatObject(ctx, b.cfg.Bucket, b.key(h), minio.StatObjectOptions{})
	if err != nil {
		return backend.FileInfo{}, b.wrap("stat "+h.String(), err)
	}
	return backend.FileInfo{Name: h.Name, Size: info.Size}, nil
}

// List lists every object of the type's folder, following all pages.
func (b *Backend) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	if t == backend.Config {
		fi, err := b.Stat(ctx, backend.Handle{Type: t})
		if errors.Is(err, backend.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return fn(fi)
	}
	prefix := path.Join(b.cfg.Prefix, t.Dir()) + "/"
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range b.client.ListObjects(ctx, b.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return b.wrap("list "+t.String(), obj.Err)
		}
		name := path.Base(obj.Key)
		if strings.HasSuffix(obj.Key, "/") || strings.HasPrefix(name, ".") {
			continue
		}
		rel := strings.TrimPrefix(obj.Key, strings.TrimSuffix(prefix, t.Dir()+"/"))
		if err := fn(backend.FileInfo{Name: name, Size: obj.Size, Path: rel}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Remove deletes the object; S3 does not report missing objects on
// delete, so it checks first.
func (b *Backend) Remove(ctx context.Context, h backend.Handle) error {
	if _, err := b.Stat(ctx, h); err != nil {
		return err
	}
	if mode, _ := b.retention(); mode != "" {
		return b.removeVersions(ctx, h)
	}
	if err := b.client.RemoveObject(ctx, b.cfg.Bucket, b.key(h), minio.RemoveObjectOptions{}); err != nil {
		return b.wrap("remove "+h.String(), err)
	}
	return nil
}

// removeVersions deletes every version of h, the stored ones first: a
// version still retained fails with ErrLocked before anything of h is
// gone; then the delete markers.
func (b *Backend) removeVersions(ctx context.Context, h backend.Handle) error {
	key := b.key(h)
	var data, markers []string
	for o := range b.client.ListObjects(ctx, b.cfg.Bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
		if o.Err != nil {
			return b.wrap("list versions of "+h.String(), o.Err)
		}
		if o.Key != key {
			continue
		}
		if o.IsDeleteMarker {
			markers = append(markers, o.VersionID)
		} else {
			data = append(data, o.VersionID)
		}
	}
	for _, v := range append(data, markers...) {
		if err := b.client.RemoveObject(ctx, b.cfg.Bucket, key, minio.RemoveObjectOptions{VersionID: v}); err != nil {
			return b.wrap("remove "+h.String(), err)
		}
	}
	return nil
}

// Close does nothing; connections are pooled by the HTTP client.
func (b *Backend) Close() error { return nil }

var _ backend.Versioner = (*Backend)(nil)
