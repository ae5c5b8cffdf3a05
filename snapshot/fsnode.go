package snapshot

import (
	"io/fs"
	"os/user"
	"strconv"
	"sync"
	"time"
)

// idNames caches uid/gid to name lookups.
type idNames struct {
	mu     sync.Mutex // guards users and groups
	users  map[uint32]string
	groups map[uint32]string
}

func (c *idNames) user(uid uint32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if name, ok := c.users[uid]; ok {
		return name
	}
	name := ""
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		name = u.Username
	}
	if c.users == nil {
		c.users = map[uint32]string{}
	}
	c.users[uid] = name
	return name
}

func (c *idNames) group(gid uint32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if name, ok := c.groups[gid]; ok {
		return name
	}
	name := ""
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		name = g.Name
	}
	if c.groups == nil {
		c.groups = map[uint32]string{}
	}
	c.groups[gid] = name
	return name
}

func nodeType(m fs.FileMode) NodeType {
	switch {
	case m.IsRegular():
		return TypeFile
	case m.IsDir():
		return TypeDir
	case m&fs.ModeSymlink != 0:
		return TypeSymlink
	case m&fs.ModeNamedPipe != 0:
		return TypeFIFO
	case m&fs.ModeSocket != 0:
		return TypeSocket
	case m&fs.ModeCharDevice != 0:
		return TypeCharDev
	case m&fs.ModeDevice != 0:
		return TypeBlockDev
	}
	return 0
}

// nodeFromInfo fills a node's metadata from lstat information.
func (c *idNames) nodeFromInfo(name string, fi fs.FileInfo) Node {
	n := Node{Name: name, Type: nodeType(fi.Mode()), ModTime: fi.ModTime().UTC()}
	m := fi.Mode()
	n.Mode = uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		n.Mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		n.Mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		n.Mode |= 0o1000
	}
	if n.Type == TypeFile {
		n.Size = uint64(fi.Size())
	}
	if st, ok := statOf(fi); ok {
		n.UID, n.GID = st.uid, st.gid
		n.User, n.Group = c.user(st.uid), c.group(st.gid)
		n.Inode, n.Device, n.Links = st.ino, st.dev, st.nlink
		n.ChangeTime = st.ctime
		if n.Type == TypeCharDev || n.Type == TypeBlockDev {
			n.Rdev = st.rdev
		}
	}
	return n
}

// sysStat is what lstat says beyond fs.FileInfo, on every platform
// (stat_*.go).
type sysStat struct {
	uid, gid              uint32
	ino, dev, nlink, rdev uint64
	ctime, atime          time.Time
}

// accessTime returns a file's access time from lstat information, or the
// zero time.
func accessTime(fi fs.FileInfo) time.Time {
	if st, ok := statOf(fi); ok {
		return st.atime
	}
	return time.Time{}
}
