package snapshot

import (
	"bytes"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/wire"
	"google.golang.org/protobuf/encoding/protowire"
)

// NodeType is the kind of a directory entry.
type NodeType uint8

// Node types.
const (
	TypeFile     NodeType = 1
	TypeDir      NodeType = 2
	TypeSymlink  NodeType = 3
	TypeFIFO     NodeType = 4
	TypeSocket   NodeType = 5
	TypeCharDev  NodeType = 6
	TypeBlockDev NodeType = 7
)

var typeNames = map[NodeType]string{
	TypeFile: "file", TypeDir: "dir", TypeSymlink: "symlink", TypeFIFO: "fifo",
	TypeSocket: "socket", TypeCharDev: "chardev", TypeBlockDev: "blockdev",
}

// String returns the type's name, as ls shows it.
func (t NodeType) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Xattr is one extended attribute.
type Xattr struct {
	Name  string
	Value []byte
}

// Node describes one directory entry. Name may hold any bytes but "/" and
// NUL; Go strings carry non-UTF-8 names unchanged.
type Node struct {
	Name       string
	Type       NodeType
	Mode       uint32 // permission bits with setuid, setgid and sticky (07777)
	UID, GID   uint32
	User       string
	Group      string
	ModTime    time.Time
	ChangeTime time.Time
	AccessTime time.Time
	Size       uint64
	Inode      uint64
	Device     uint64 // st_dev, for change detection and hardlinks
	Links      uint64
	Rdev       uint64 // device number of a char or block device
	LinkTarget string
	Content    []blob.ID // data blobs of a file, in order
	Subtree    blob.ID   // tree blob of a directory
	Xattrs     []Xattr
}

// FileMode returns the node's mode as an fs.FileMode.
func (n *Node) FileMode() fs.FileMode {
	m := fs.FileMode(n.Mode & 0o777)
	if n.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if n.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if n.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch n.Type {
	case TypeDir:
		m |= fs.ModeDir
	case TypeSymlink:
		m |= fs.ModeSymlink
	case TypeFIFO:
		m |= fs.ModeNamedPipe
	case TypeSocket:
		m |= fs.ModeSocket
	case TypeCharDev:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case TypeBlockDev:
		m |= fs.ModeDevice
	}
	return m
}

// ValidName reports why name cannot be restored safely, or "" if it can:
// empty, ".", "..", or containing "/" or NUL.
func ValidName(name string) string {
	switch {
	case name == "":
		return "empty name"
	case name == "." || name == "..":
		return fmt.Sprintf("name %q", name)
	case strings.ContainsRune(name, '/'):
		return "name contains \"/\""
	case strings.ContainsRune(name, 0):
		return "name contains NUL"
	}
	return ""
}

// Tree is one directory's entries, sorted by name.
type Tree struct {
	Nodes []Node
}

// Sort orders the nodes by name, bytewise.
func (t *Tree) Sort() {
	sort.Slice(t.Nodes, func(i, j int) bool { return t.Nodes[i].Name < t.Nodes[j].Name })
}

// Find returns the node with the given name, or nil.
func (t *Tree) Find(name string) *Node {
	i := sort.Search(len(t.Nodes), func(i int) bool { return t.Nodes[i].Name >= name })
	if i < len(t.Nodes) && t.Nodes[i].Name == name {
		return &t.Nodes[i]
	}
	return nil
}

const treeVersion = 1

// Node fields (doc/design.md §9). The numbers are the stored format:
// never renumber, never reuse one.
const (
	fName       = 1
	fType       = 2
	fMode       = 3
	fUID        = 4
	fGID        = 5
	fUser       = 6
	fGroup      = 7
	fModTime    = 8
	fChangeTime = 9
	fAccessTime = 10
	fSize       = 11
	fInode      = 12
	fDevice     = 13
	fLinks      = 14
	fRdev       = 15
	fLinkTarget = 16
	fContent    = 17
	fSubtree    = 18
	fXattr      = 19

	xattrName  = 1 // fields of the xattr message
	xattrValue = 2
)

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Encode returns the tree blob's bytes. Nodes must be sorted.
func (t *Tree) Encode() []byte {
	out := []byte{treeVersion}
	var e wire.Encoder
	for i := range t.Nodes {
		e.B = e.B[:0]
		encodeNode(&e, &t.Nodes[i])
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = protowire.AppendBytes(out, e.B)
	}
	return out
}

func encodeNode(e *wire.Encoder, n *Node) {
	e.Str(fName, n.Name)
	e.Uint(fType, uint64(n.Type))
	e.Uint(fMode, uint64(n.Mode))
	e.Uint(fUID, uint64(n.UID))
	e.Uint(fGID, uint64(n.GID))
	e.Str(fUser, n.User)
	e.Str(fGroup, n.Group)
	e.Int(fModTime, nanos(n.ModTime))
	e.Int(fChangeTime, nanos(n.ChangeTime))
	e.Int(fAccessTime, nanos(n.AccessTime))
	e.Uint(fSize, n.Size)
	e.Uint(fInode, n.Inode)
	e.Uint(fDevice, n.Device)
	e.Uint(fLinks, n.Links)
	e.Uint(fRdev, n.Rdev)
	e.Str(fLinkTarget, n.LinkTarget)
	if len(n.Content) > 0 {
		ids := make([]byte, 0, len(n.Content)*blob.IDSize)
		for _, id := range n.Content {
			ids = append(ids, id[:]...)
		}
		e.Bytes(fContent, ids)
	}
	e.ID(fSubtree, n.Subtree)
	for _, x := range n.Xattrs {
		var xe wire.Encoder
		xe.Str(xattrName, x.Name)
		xe.Bytes(xattrValue, x.Value)
		e.Bytes(fXattr, xe.B)
	}
}

// DecodeTree parses a tree blob. It rejects unsorted or duplicate names,
// unknown node types and malformed fields; it does not judge whether names
// are safe to restore (see ValidName).
func DecodeTree(b []byte) (*Tree, error) {
	if len(b) == 0 || b[0] != treeVersion {
		return nil, fmt.Errorf("tree version: %w", ErrFormat)
	}
	// Count the entries first: a restore keeps every tree it plans, and
	// a slice grown by append would hold up to twice their memory.
	count := 0
	if err := wire.Decode(b[1:], func(f wire.Field) error {
		if f.Num == 1 && f.B != nil {
			count++
		}
		return nil
	}); err != nil {
		return nil, err
	}
	t := &Tree{Nodes: make([]Node, 0, count)}
	err := wire.Decode(b[1:], func(f wire.Field) error {
		if f.Num != 1 || f.B == nil {
			return nil
		}
		n, err := decodeNode(f.B)
		if err != nil {
			return err
		}
		if k := len(t.Nodes); k > 0 && t.Nodes[k-1].Name >= n.Name {
			return fmt.Errorf("tree entries unsorted or duplicated at %q: %w", n.Name, ErrFormat)
		}
		t.Nodes = append(t.Nodes, n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func decodeNode(b []byte) (Node, error) {
	var n Node
	err := wire.Decode(b, func(f wire.Field) error {
		var err error
		switch f.Num {
		case fName:
			n.Name = string(f.B)
		case fType:
			n.Type = NodeType(f.U)
		case fMode:
			n.Mode = uint32(f.U & 0o7777)
		case fUID:
			n.UID = uint32(f.U)
		case fGID:
			n.GID = uint32(f.U)
		case fUser:
			n.User = string(f.B)
		case fGroup:
			n.Group = string(f.B)
		case fModTime:
			n.ModTime = fromNanos(f.Int())
		case fChangeTime:
			n.ChangeTime = fromNanos(f.Int())
		case fAccessTime:
			n.AccessTime = fromNanos(f.Int())
		case fSize:
			n.Size = f.U
		case fInode:
			n.Inode = f.U
		case fDevice:
			n.Device = f.U
		case fLinks:
			n.Links = f.U
		case fRdev:
			n.Rdev = f.U
		case fLinkTarget:
			n.LinkTarget = string(f.B)
		case fContent:
			if len(f.B)%blob.IDSize != 0 {
				return fmt.Errorf("content of %d bytes: %w", len(f.B), ErrFormat)
			}
			n.Content = make([]blob.ID, len(f.B)/blob.IDSize)
			for i := range n.Content {
				copy(n.Content[i][:], f.B[i*blob.IDSize:])
			}
		case fSubtree:
			n.Subtree, err = f.ID()
		case fXattr:
			var x Xattr
			err = wire.Decode(f.B, func(xf wire.Field) error {
				switch xf.Num {
				case xattrName:
					x.Name = string(xf.B)
				case xattrValue:
					x.Value = bytes.Clone(xf.B)
				}
				return nil
			})
			n.Xattrs = append(n.Xattrs, x)
		}
		return err
	})
	if err != nil {
		return n, err
	}
	if _, ok := typeNames[n.Type]; !ok {
		return n, fmt.Errorf("node %q has unknown type %d: %w", n.Name, n.Type, ErrFormat)
	}
	if n.Type == TypeDir && n.Subtree.IsZero() {
		return n, fmt.Errorf("directory %q has no subtree: %w", n.Name, ErrFormat)
	}
	return n, nil
}
