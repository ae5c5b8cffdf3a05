//go:build linux

package mount

import (
	"context"
	"sort"
	"syscall"
	"time"

	"github.com/cairn-backup/cairn/snapshot"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// entry is one name in a virtual folder: a folder (make builds its node)
// or, with a link target, a symlink.
type entry struct {
	link string
	make func() fs.InodeEmbedder
	key  string // identifies what the folder shows: a node is reused while it stays the same
}

// virtDir is a folder whose entries are computed from the snapshot list.
type virtDir struct {
	fs.Inode
	m       *mounter
	entries func(ctx context.Context) ([]string, map[string]entry)
}

var (
	_ fs.NodeLookuper  = (*virtDir)(nil)
	_ fs.NodeReaddirer = (*virtDir)(nil)
	_ fs.NodeGetattrer = (*virtDir)(nil)
)

func virtAttr(a *fuse.Attr, mode uint32) {
	a.Mode = mode
	a.Nlink = 1
	now := time.Now()
	a.SetTimes(&now, &now, &now)
}

// Getattr describes a read-only folder.
func (d *virtDir) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	virtAttr(&out.Attr, fuse.S_IFDIR|0o555)
	return 0
}

// Readdir lists the entries.
func (d *virtDir) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	names, ents := d.entries(ctx)
	list := make([]fuse.DirEntry, 0, len(names))
	for _, n := range names {
		mode := uint32(fuse.S_IFDIR)
		if ents[n].link != "" {
			mode = fuse.S_IFLNK
		}
		list = append(list, fuse.DirEntry{Name: n, Mode: mode})
	}
	return fs.NewListDirStream(list), 0
}

// Lookup finds an entry, reusing its node while it shows the same thing.
func (d *virtDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	_, ents := d.entries(ctx)
	e, ok := ents[name]
	if !ok {
		return nil, syscall.ENOENT
	}
	if e.link != "" {
		virtAttr(&out.Attr, fuse.S_IFLNK|0o777)
		out.Attr.Size = uint64(len(e.link))
		if ch := d.GetChild(name); ch != nil {
			if l, ok := ch.Operations().(*linkNode); ok && l.target == e.link {
				return ch, 0
			}
		}
		return d.NewInode(ctx, &linkNode{target: e.link}, fs.StableAttr{Mode: fuse.S_IFLNK}), 0
	}
	if ch := d.GetChild(name); ch != nil {
		if k, ok := ch.Operations().(interface{ showKey() string }); ok && k.showKey() == e.key {
			if g, ok := ch.Operations().(fs.NodeGetattrer); ok {
				var a fuse.AttrOut
				g.Getattr(ctx, nil, &a)
				out.Attr = a.Attr
			}
			return ch, 0
		}
	}
	node := e.make()
	if g, ok := node.(fs.NodeGetattrer); ok {
		var a fuse.AttrOut
		g.Getattr(ctx, nil, &a)
		out.Attr = a.Attr
	}
	return d.NewInode(ctx, node, fs.StableAttr{Mode: fuse.S_IFDIR}), 0
}

// keyed is a folder node that knows what it shows.
type keyed struct{ key string }

func (k keyed) showKey() string { return k.key }

// groupDir is a virtDir with a key (a host's or tag's folder).
type groupDir struct {
	virtDir
	keyed
}

// rootDir is the mount's root: snapshots, ids, hosts, tags.
type rootDir struct {
	virtDir
}

func newRoot(m *mounter) *rootDir {
	r := &rootDir{virtDir{m: m}}
	r.entries = func(ctx context.Context) ([]string, map[string]entry) {
		names := []string{"hosts", "ids", "snapshots", "tags"}
		ents := map[string]entry{
			"snapshots": {key: "snapshots", make: func() fs.InodeEmbedder { return m.timeDir("snapshots", nil) }},
			"ids":       {key: "ids", make: func() fs.InodeEmbedder { return m.idDir() }},
			"hosts": {key: "hosts", make: func() fs.InodeEmbedder {
				return m.groupsDir("hosts", func(s *snapshot.Snapshot) []string { return []string{s.Host} })
			}},
			"tags": {key: "tags", make: func() fs.InodeEmbedder {
				return m.groupsDir("tags", func(s *snapshot.Snapshot) []string { return s.Tags })
			}},
		}
		return names, ents
	}
	return r
}

// snapshotEntries names snaps by time, with "latest" linking the newest.
func (m *mounter) snapshotEntries(snaps []*snapshot.Snapshot) ([]string, map[string]entry) {
	names, byName := byTime(snaps)
	ents := map[string]entry{}
	for _, n := range names {
		s := byName[n]
		ents[n] = entry{key: s.ID.String(), make: func() fs.InodeEmbedder { return m.snapshotRoot(s) }}
	}
	if len(names) > 0 {
		ents["latest"] = entry{link: names[len(names)-1]}
		names = append(names, "latest")
	}
	return names, ents
}

// timeDir lists the snapshots that keep accepts (all with nil) by time.
func (m *mounter) timeDir(key string, keep func(*snapshot.Snapshot) bool) fs.InodeEmbedder {
	d := &groupDir{keyed: keyed{key}}
	d.m = m
	d.entries = func(ctx context.Context) ([]string, map[string]entry) {
		var snaps []*snapshot.Snapshot
		for _, s := range m.snapshots(ctx) {
			if keep == nil || keep(s) {
				snaps = append(snaps, s)
			}
		}
		return m.snapshotEntries(snaps)
	}
	return d
}

// idDir lists the snapshots by short ID.
func (m *mounter) idDir() fs.InodeEmbedder {
	d := &groupDir{keyed: keyed{"ids"}}
	d.m = m
	d.entries = func(ctx context.Context) ([]string, map[string]entry) {
		ents := map[string]entry{}
		var names []string
		for _, s := range m.snapshots(ctx) {
			n := s.ID.Short()
			ents[n] = entry{key: s.ID.String(), make: func() fs.InodeEmbedder { return m.snapshotRoot(s) }}
			names = append(names, n)
		}
		sort.Strings(names)
		return names, ents
	}
	return d
}

// groupsDir has a folder per value of of (hosts, tags), each listing the
// snapshots with that value by time.
func (m *mounter) groupsDir(key string, of func(*snapshot.Snapshot) []string) fs.InodeEmbedder {
	d := &groupDir{keyed: keyed{key}}
	d.m = m
	d.entries = func(ctx context.Context) ([]string, map[string]entry) {
		ents := map[string]entry{}
		var names []string
		for _, s := range m.snapshots(ctx) {
			for _, v := range of(s) {
				if _, ok := ents[v]; ok || snapshot.ValidName(v) != "" {
					continue
				}
				ents[v] = entry{key: key + "/" + v, make: func() fs.InodeEmbedder {
					return m.timeDir(key+"/"+v, func(s *snapshot.Snapshot) bool {
						for _, x := range of(s) {
							if x == v {
								return true
							}
						}
						return false
					})
				}}
				names = append(names, v)
			}
		}
		sort.Strings(names)
		return names, ents
	}
	return d
}
