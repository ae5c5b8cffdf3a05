package s3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/minio/minio-go/v7"
)

// objectVersions are the stored versions and delete markers of one key,
// newest first.
type objectVersions struct {
	key      string
	h        backend.Handle
	versions []minio.ObjectInfo
}

// listVersions lists every version and delete marker below the prefix,
// by key, newest first.
func (b *Backend) listVersions(ctx context.Context) ([]*objectVersions, error) {
	byKey := map[string]*objectVersions{}
	var out []*objectVersions
	for o := range b.client.ListObjects(ctx, b.cfg.Bucket, minio.ListObjectsOptions{Prefix: b.prefix(), Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			return nil, b.wrap("list versions", o.Err)
		}
		ov := byKey[o.Key]
		if ov == nil {
			h, ok := b.handleOf(o.Key)
			if !ok {
				continue // not a file of the repository's layout
			}
			ov = &objectVersions{key: o.Key, h: h}
			byKey[o.Key] = ov
			out = append(out, ov)
		}
		ov.versions = append(ov.versions, o)
	}
	for _, ov := range out {
		sort.SliceStable(ov.versions, func(i, j int) bool {
			a, c := ov.versions[i], ov.versions[j]
			if !a.LastModified.Equal(c.LastModified) {
				return a.LastModified.After(c.LastModified)
			}
			return a.IsLatest && !c.IsLatest
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, nil
}

func (b *Backend) prefix() string {
	if b.cfg.Prefix == "" {
		return ""
	}
	return strings.Trim(b.cfg.Prefix, "/") + "/"
}

// handleOf maps a key back to the file it stores.
func (b *Backend) handleOf(key string) (backend.Handle, bool) {
	rel := strings.TrimPrefix(key, b.prefix())
	if rel == (backend.Handle{Type: backend.Config}).Path() {
		return backend.Handle{Type: backend.Config}, true
	}
	for _, t := range backend.FileTypes {
		if t != backend.Config && strings.HasPrefix(rel, t.Dir()+"/") {
			h := backend.Handle{Type: t, Name: path.Base(rel)}
			return h, h.Valid() == nil && h.Path() == rel
		}
	}
	return backend.Handle{}, false
}

// choose returns the version of ov that opts want (nil: the file is to be
// absent) and the damaged versions it passed over.
func (b *Backend) choose(ctx context.Context, ov *objectVersions, opts backend.AsOfOptions) (*minio.ObjectInfo, []backend.SkippedVersion, error) {
	var skipped []backend.SkippedVersion
	for i := range ov.versions {
		v := &ov.versions[i]
		if !opts.Time.IsZero() && v.LastModified.After(opts.Time) {
			continue
		}
		if v.IsDeleteMarker {
			if !opts.Time.IsZero() && len(skipped) == 0 {
				return nil, nil, nil // it did not exist then
			}
			continue
		}
		ok, err := b.intact(ctx, ov, v, opts.Intact)
		if err != nil {
			return nil, skipped, err
		}
		if ok {
			return v, skipped, nil
		}
		skipped = append(skipped, backend.SkippedVersion{Path: ov.h.Path(), VersionID: v.VersionID, Time: v.LastModified, Size: v.Size})
	}
	return nil, skipped, nil
}

func (b *Backend) intact(ctx context.Context, ov *objectVersions, v *minio.ObjectInfo, check func(backend.Handle, io.Reader) (bool, error)) (bool, error) {
	if check == nil {
		return true, nil
	}
	body, err := b.client.GetObject(ctx, b.cfg.Bucket, ov.key, minio.GetObjectOptions{VersionID: v.VersionID})
	if err != nil {
		return false, b.wrap("read "+ov.h.String()+" version "+v.VersionID, err)
	}
	defer func() { _ = body.Close() }()
	ok, err := check(ov.h, body)
	if err != nil && ctx.Err() != nil {
		return false, ctx.Err()
	}
	return ok && err == nil, nil
}

// RestoreAsOf brings every object back to the version opts choose (see
// backend.AsOfOptions): an object deleted, overwritten or damaged since is
// copied from that version, so it becomes the newest again; an object
// that has none (it did not exist then, or no version is intact) is
// hidden behind a delete marker. No version is deleted, so the recovery
// itself can be undone. Copies carry the retention opts.Policy reads from
// the restored repository, never the bucket's default.
func (b *Backend) RestoreAsOf(ctx context.Context, opts backend.AsOfOptions) (backend.AsOfReport, error) {
	var rep backend.AsOfReport
	objects, err := b.listVersions(ctx)
	if err != nil {
		return rep, err
	}
	type action struct {
		ov   *objectVersions
		want *minio.ObjectInfo
	}
	var todo []action
	wanted := map[string]minio.ObjectInfo{}
	for _, ov := range objects {
		want, skipped, err := b.choose(ctx, ov, opts)
		if err != nil {
			return rep, err
		}
		rep.Skipped = append(rep.Skipped, skipped...)
		latest := ov.versions[0]
		switch {
		case want != nil && !latest.IsDeleteMarker && latest.VersionID == want.VersionID:
			rep.Unchanged++
		case want != nil:
			rep.Restored = append(rep.Restored, ov.h.Path())
		case !latest.IsDeleteMarker:
			rep.Hidden = append(rep.Hidden, ov.h.Path())
		default:
			rep.Unchanged++
			continue
		}
		if want != nil {
			wanted[ov.key] = *want
		}
		todo = append(todo, action{ov, want})
	}
	if opts.DryRun {
		return rep, nil
	}
	if opts.Policy != nil {
		if rep.Mode, rep.Period, err = opts.Policy(ctx, &asOfView{b: b, wanted: wanted}); err != nil {
			return rep, err
		}
	}
	mode := minio.RetentionMode(strings.ToUpper(rep.Mode))
	for _, a := range todo {
		latest := a.ov.versions[0]
		switch {
		case a.want != nil && !latest.IsDeleteMarker && latest.VersionID == a.want.VersionID:
		case a.want != nil:
			dst := minio.CopyDestOptions{Bucket: b.cfg.Bucket, Object: a.ov.key}
			if mode != "" {
				dst.Mode, dst.RetainUntilDate = mode, b.now().Add(rep.Period).UTC().Truncate(time.Second).Add(time.Second)
			}
			if _, err := b.client.CopyObject(ctx, dst, minio.CopySrcOptions{Bucket: b.cfg.Bucket, Object: a.ov.key, VersionID: a.want.VersionID}); err != nil {
				return rep, b.wrap("restore "+a.ov.h.String(), err)
			}
		default:
			if err := b.client.RemoveObject(ctx, b.cfg.Bucket, a.ov.key, minio.RemoveObjectOptions{}); err != nil {
				return rep, b.wrap("hide "+a.ov.h.String(), err)
			}
		}
	}
	return rep, nil
}

// Versioned reports whether the bucket's versioning is on.
func (b *Backend) Versioned(ctx context.Context) (bool, error) {
	cfg, err := b.client.GetBucketVersioning(ctx, b.cfg.Bucket)
	if err != nil {
		return false, b.wrap("versioning of bucket "+b.cfg.Bucket, err)
	}
	return cfg.Enabled(), nil
}

// HasVersions reports whether any version of h is stored.
func (b *Backend) HasVersions(ctx context.Context, h backend.Handle) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	key := b.key(h)
	for o := range b.client.ListObjects(ctx, b.cfg.Bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
		if o.Err != nil {
			return false, b.wrap("list versions of "+h.String(), o.Err)
		}
		if o.Key == key && !o.IsDeleteMarker {
			return true, nil
		}
	}
	return false, nil
}

// asOfView is the storage as RestoreAsOf will leave it, read-only: each
// file's chosen version.
type asOfView struct {
	b      *Backend
	wanted map[string]minio.ObjectInfo // key -> chosen version
}

func (v *asOfView) Save(context.Context, backend.Handle, []byte) error {
	return fmt.Errorf("the storage as it will be restored is read-only: %w", backend.ErrPermission)
}

func (v *asOfView) Remove(context.Context, backend.Handle) error {
	return fmt.Errorf("the storage as it will be restored is read-only: %w", backend.ErrPermission)
}

func (v *asOfView) Close() error { return nil }

func (v *asOfView) version(h backend.Handle) (minio.ObjectInfo, error) {
	o, ok := v.wanted[v.b.key(h)]
	if !ok {
		return o, fmt.Errorf("%v as it will be restored: %w", h, backend.ErrNotExist)
	}
	return o, nil
}

func (v *asOfView) Load(ctx context.Context, h backend.Handle, offset, length int64) (io.ReadCloser, error) {
	o, err := v.version(h)
	if err != nil {
		return nil, err
	}
	opts := minio.GetObjectOptions{VersionID: o.VersionID}
	if offset >= o.Size {
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	end := o.Size - 1
	if length > 0 {
		end = min(end, offset+length-1)
	}
	if err := opts.SetRange(offset, end); err != nil {
		return nil, err
	}
	body, _, _, err := (&minio.Core{Client: v.b.client}).GetObject(ctx, v.b.cfg.Bucket, o.Key, opts)
	if err != nil {
		return nil, v.b.wrap("load "+h.String(), err)
	}
	return body, nil
}

func (v *asOfView) Stat(_ context.Context, h backend.Handle) (backend.FileInfo, error) {
	o, err := v.version(h)
	if err != nil {
		return backend.FileInfo{}, err
	}
	return backend.FileInfo{Name: h.Name, Size: o.Size, Path: h.Path()}, nil
}

func (v *asOfView) List(ctx context.Context, t backend.FileType, fn func(backend.FileInfo) error) error {
	var keys []string
	for k := range v.wanted {
		if h, ok := v.b.handleOf(k); ok && h.Type == t {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, _ := v.b.handleOf(k)
		if err := fn(backend.FileInfo{Name: h.Name, Size: v.wanted[k].Size, Path: h.Path()}); err != nil {
			return err
		}
	}
	return nil
}
