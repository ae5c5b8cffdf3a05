package repo

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/crypto"
)

// KeyInfo describes one key file.
type KeyInfo struct {
	Name    string
	Current bool // the key that opened this handle
	Meta    crypto.KeyMeta
	Params  crypto.KDFParams
}

func (r *Repository) writeKey(ctx context.Context, password []byte) (string, error) {
	host, user := hostUser()
	data, err := crypto.NewKeyFile(r.key, password, r.opts.KDF, crypto.KeyMeta{Created: r.opts.Now().UTC(), Host: host, User: user})
	if err != nil {
		return "", fmt.Errorf("new key: %w", err)
	}
	name, err := r.saveVerified(ctx, backend.Key, data)
	if err != nil {
		return "", fmt.Errorf("save key: %w", err)
	}
	return name, nil
}

// Keys lists the key files, oldest first.
func (r *Repository) Keys(ctx context.Context) ([]KeyInfo, error) {
	names, err := backend.Names(ctx, r.be, backend.Key)
	if err != nil {
		return nil, err
	}
	var keys []KeyInfo
	for _, name := range names {
		data, err := loadVerified(ctx, r.be, backend.Handle{Type: backend.Key, Name: name})
		if err != nil {
			return nil, err
		}
		kf, err := crypto.ParseKeyFile(data)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", name, err)
		}
		meta, err := kf.Meta(r.key)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", name, err)
		}
		keys = append(keys, KeyInfo{Name: name, Current: name == r.keyName, Meta: meta, Params: kf.Params})
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Meta.Created.Before(keys[j].Meta.Created) })
	return keys, nil
}

// AddKey stores a new key file for password and returns its name.
func (r *Repository) AddKey(ctx context.Context, password []byte) (string, error) {
	return r.writeKey(ctx, password)
}

// ErrLastKey is returned when removing a key would leave none, or would
// remove the key in use.
var ErrLastKey = errors.New("refusing to remove the key in use or the last key")

// RemoveKey deletes the key file whose name starts with prefix. It refuses
// to remove the key that opened this handle (which is also the last key, if
// only one is left).
func (r *Repository) RemoveKey(ctx context.Context, prefix string) (string, error) {
	name, err := r.Find(ctx, backend.Key, prefix)
	if err != nil {
		return "", err
	}
	if name == r.keyName {
		return "", fmt.Errorf("key %s is in use: %w", name[:8], ErrLastKey)
	}
	names, err := backend.Names(ctx, r.be, backend.Key)
	if err != nil {
		return "", err
	}
	if len(names) < 2 {
		return "", ErrLastKey
	}
	if err := r.remove(ctx, backend.Handle{Type: backend.Key, Name: name}); err != nil {
		return "", err
	}
	return name, nil
}

// ChangePassword writes a key file for the new password, then removes the
// current one: a kill in between leaves both passwords working.
func (r *Repository) ChangePassword(ctx context.Context, password []byte) (string, error) {
	name, err := r.writeKey(ctx, password)
	if err != nil {
		return "", err
	}
	old := r.keyName
	r.keyName = name
	if err := r.be.Remove(ctx, backend.Handle{Type: backend.Key, Name: old}); err != nil {
		return name, fmt.Errorf("new key %s written, but removing the old key failed: %w", name[:8], err)
	}
	return name, nil
}
