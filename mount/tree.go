//go:build linux

package mount

import (
	"context"
	"path"
	"sort"
	"sync"
	"syscall"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// treeDir is a folder of a snapshot: the tree id. node is its entry in
// the parent (nil for the snapshot's root, which takes the snapshot's
// time).
type treeDir struct {
	fs.Inode
	keyed
	m      *mounter
	snap   *snapshot.Snapshot
	id     blob.ID
	node   *snapshot.Node
	path   string // inside the snapshot, for messages
	warned sync.Once
}

var (
	_ fs.NodeLookuper    = (*treeDir)(nil)
	_ fs.NodeReaddirer   = (*treeDir)(nil)
	_ fs.NodeGetattrer   = (*treeDir)(nil)
	_ fs.NodeGetxattrer  = (*treeDir)(nil)
	_ fs.NodeListxattrer = (*treeDir)(nil)
)

func (m *mounter) snapshotRoot(s *snapshot.Snapshot) *treeDir {
	return &treeDir{keyed: keyed{s.ID.String()}, m: m, snap: s, id: s.Tree, path: "/"}
}

// where names a path of the snapshot in messages.
func (d *treeDir) where(p string) string { return "snapshot " + d.snap.ID.Short() + ":" + p }

// Getattr gives the folder's stored attributes.
func (d *treeDir) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if d.node == nil {
		virtAttr(&out.Attr, fuse.S_IFDIR|0o555)
		t := d.snap.Time
		out.Attr.SetTimes(&t, &t, &t)
		return 0
	}
	fillAttr(d.node, &out.Attr)
	return 0
}

// load reads the folder's tree; a damaged tree is an I/O error, logged.
func (d *treeDir) load(ctx context.Context) (*snapshot.Tree, syscall.Errno) {
	t, err := d.m.tree(ctx, d.id)
	if err != nil {
		if ctx.Err() != nil {
			return nil, syscall.EINTR
		}
		d.m.opts.Log("mount: %s: could not read directory: %v", d.where(d.path), err)
		return nil, syscall.EIO
	}
	return t, 0
}

// safe reports whether a name may be shown; the others are logged once.
func (d *treeDir) safe(t *snapshot.Tree) []*snapshot.Node {
	var out []*snapshot.Node
	var bad []string
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if why := snapshot.ValidName(n.Name); why != "" {
			bad = append(bad, snapshot.UnsafePath(d.path, n.Name)+" ("+why+")")
			continue
		}
		out = append(out, n)
	}
	if len(bad) > 0 {
		d.warned.Do(func() {
			for _, b := range bad {
				d.m.opts.Log("mount: %s: unsafe name left out", d.where(b))
			}
		})
	}
	return out
}

// Readdir lists the folder's safe entries.
func (d *treeDir) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	t, errno := d.load(ctx)
	if errno != 0 {
		return nil, errno
	}
	nodes := d.safe(t)
	list := make([]fuse.DirEntry, 0, len(nodes))
	for _, n := range nodes {
		list = append(list, fuse.DirEntry{Name: n.Name, Mode: typeBits(n)})
	}
	return fs.NewListDirStream(list), 0
}

// Lookup finds an entry of the folder.
func (d *treeDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if snapshot.ValidName(name) != "" {
		return nil, syscall.ENOENT
	}
	t, errno := d.load(ctx)
	if errno != 0 {
		return nil, errno
	}
	n := t.Find(name)
	if n == nil {
		return nil, syscall.ENOENT
	}
	fillAttr(n, &out.Attr)
	if ch := d.GetChild(name); ch != nil {
		return ch, 0
	}
	p := path.Join(d.path, name)
	var node fs.InodeEmbedder
	switch n.Type {
	case snapshot.TypeDir:
		node = &treeDir{m: d.m, snap: d.snap, id: n.Subtree, node: n, path: p}
	case snapshot.TypeFile:
		node = &fileNode{m: d.m, node: n, where: d.where(p)}
	case snapshot.TypeSymlink:
		node = &linkNode{target: n.LinkTarget, node: n}
	default:
		node = &specialNode{node: n}
	}
	return d.NewInode(ctx, node, fs.StableAttr{Mode: typeBits(n)}), 0
}

// Getxattr and Listxattr give the folder's extended attributes.
func (d *treeDir) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return getxattr(d.node, attr, dest)
}

// Listxattr lists the folder's extended attributes.
func (d *treeDir) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return listxattr(d.node, dest)
}

// typeBits is the S_IF* type of a node.
func typeBits(n *snapshot.Node) uint32 {
	switch n.Type {
	case snapshot.TypeDir:
		return fuse.S_IFDIR
	case snapshot.TypeSymlink:
		return fuse.S_IFLNK
	case snapshot.TypeFIFO:
		return fuse.S_IFIFO
	case snapshot.TypeSocket:
		return syscall.S_IFSOCK
	case snapshot.TypeCharDev:
		return syscall.S_IFCHR
	case snapshot.TypeBlockDev:
		return syscall.S_IFBLK
	}
	return fuse.S_IFREG
}

// fillAttr gives a node's stored attributes.
func fillAttr(n *snapshot.Node, a *fuse.Attr) {
	a.Mode = typeBits(n) | n.Mode&0o7777
	a.Uid, a.Gid = n.UID, n.GID
	a.Nlink = uint32(max(n.Links, 1))
	switch n.Type {
	case snapshot.TypeFile:
		a.Size = n.Size
	case snapshot.TypeSymlink:
		a.Size = uint64(len(n.LinkTarget))
	case snapshot.TypeCharDev, snapshot.TypeBlockDev:
		a.Rdev = uint32(n.Rdev)
	}
	a.Blocks = (a.Size + 511) / 512
	a.Blksize = 4096
	atime, mtime, ctime := n.AccessTime, n.ModTime, n.ChangeTime
	if atime.IsZero() {
		atime = mtime
	}
	if ctime.IsZero() {
		ctime = mtime
	}
	a.SetTimes(&atime, &mtime, &ctime)
}

func getxattr(n *snapshot.Node, attr string, dest []byte) (uint32, syscall.Errno) {
	if n == nil {
		return 0, syscall.ENODATA
	}
	for _, x := range n.Xattrs {
		if x.Name == attr {
			if len(dest) == 0 {
				return uint32(len(x.Value)), 0
			}
			if len(dest) < len(x.Value) {
				return uint32(len(x.Value)), syscall.ERANGE
			}
			return uint32(copy(dest, x.Value)), 0
		}
	}
	return 0, syscall.ENODATA
}

func listxattr(n *snapshot.Node, dest []byte) (uint32, syscall.Errno) {
	var b []byte
	if n != nil {
		for _, x := range n.Xattrs {
			b = append(append(b, x.Name...), 0)
		}
	}
	if len(dest) == 0 {
		return uint32(len(b)), 0
	}
	if len(dest) < len(b) {
		return uint32(len(b)), syscall.ERANGE
	}
	return uint32(copy(dest, b)), 0
}

// linkNode is a symlink: of a snapshot (node set) or a "latest" link.
type linkNode struct {
	fs.Inode
	target string
	node   *snapshot.Node
}

var _ fs.NodeReadlinker = (*linkNode)(nil)

// Readlink gives the target.
func (l *linkNode) Readlink(ctx context.Context) ([]byte, syscall.Errno) { return []byte(l.target), 0 }

// Getattr gives the link's attributes.
func (l *linkNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if l.node != nil {
		fillAttr(l.node, &out.Attr)
		return 0
	}
	virtAttr(&out.Attr, fuse.S_IFLNK|0o777)
	out.Attr.Size = uint64(len(l.target))
	return 0
}

// Getxattr gives the link's extended attributes.
func (l *linkNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return getxattr(l.node, attr, dest)
}

// Listxattr lists the link's extended attributes.
func (l *linkNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return listxattr(l.node, dest)
}

// specialNode is a FIFO, socket or device node: attributes only.
type specialNode struct {
	fs.Inode
	node *snapshot.Node
}

// Getattr gives the node's attributes.
func (s *specialNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	fillAttr(s.node, &out.Attr)
	return 0
}

// fileNode is a regular file of a snapshot, read by range.
type fileNode struct {
	fs.Inode
	m     *mounter
	node  *snapshot.Node
	where string

	once sync.Once
	offs []int64 // offs[i]: where blob i starts; offs[len]: the size
	err  error

	ahead sync.Mutex
	next  int // the blob read ahead last
}

var (
	_ fs.NodeOpener      = (*fileNode)(nil)
	_ fs.NodeReader      = (*fileNode)(nil)
	_ fs.NodeGetxattrer  = (*fileNode)(nil)
	_ fs.NodeListxattrer = (*fileNode)(nil)
)

// Getattr gives the file's attributes.
func (f *fileNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	fillAttr(f.node, &out.Attr)
	return 0
}

// Getxattr gives the file's extended attributes.
func (f *fileNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return getxattr(f.node, attr, dest)
}

// Listxattr lists the file's extended attributes.
func (f *fileNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return listxattr(f.node, dest)
}

// Open opens the file for reading; its content never changes, so the
// kernel may keep it cached.
func (f *fileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND) != 0 {
		return nil, 0, syscall.EROFS
	}
	return nil, fuse.FOPEN_KEEP_CACHE, 0
}

// offsets computes where each blob starts, from the index.
func (f *fileNode) offsets() ([]int64, error) {
	f.once.Do(func() {
		f.offs = make([]int64, len(f.node.Content)+1)
		for i, id := range f.node.Content {
			n, ok := f.m.blobSize(id)
			if !ok {
				f.err = &missingBlob{id}
				return
			}
			f.offs[i+1] = f.offs[i] + n
		}
	})
	return f.offs, f.err
}

type missingBlob struct{ id blob.ID }

func (e *missingBlob) Error() string {
	return "data blob " + e.id.Short() + " is not in the index (lost)"
}

// Read reads the blobs that hold [off, off+len(dest)), and reads the
// next blob ahead when the reading goes on sequentially.
func (f *fileNode) Read(ctx context.Context, _ fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	offs, err := f.offsets()
	if err != nil {
		f.m.opts.Log("mount: %s: %v", f.where, err)
		return nil, syscall.EIO
	}
	size := offs[len(offs)-1]
	if off >= size {
		return fuse.ReadResultData(nil), 0
	}
	i := sort.Search(len(f.node.Content), func(i int) bool { return offs[i+1] > off })
	n := 0
	for n < len(dest) && i < len(f.node.Content) {
		b, err := f.m.data(ctx, f.node.Content[i])
		if err != nil {
			if ctx.Err() != nil {
				return nil, syscall.EINTR
			}
			f.m.opts.Log("mount: %s: could not read: %v", f.where, err)
			return nil, syscall.EIO
		}
		start := off + int64(n) - offs[i]
		if start < 0 || start > int64(len(b)) {
			f.m.opts.Log("mount: %s: blob %s holds %d bytes, the index says %d", f.where, f.node.Content[i].Short(), len(b), offs[i+1]-offs[i])
			return nil, syscall.EIO
		}
		n += copy(dest[n:], b[start:])
		i++
	}
	f.readAhead(i)
	return fuse.ReadResultData(dest[:n]), 0
}

// readAhead loads blob i into the cache in the background, once.
func (f *fileNode) readAhead(i int) {
	if i >= len(f.node.Content) {
		return
	}
	f.ahead.Lock()
	if i <= f.next {
		f.ahead.Unlock()
		return
	}
	f.next = i
	f.ahead.Unlock()
	id := f.node.Content[i]
	go func() { _, _ = f.m.data(f.m.bg, id) }()
}
