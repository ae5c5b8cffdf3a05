//go:build darwin || freebsd

package snapshot

import (
	"io/fs"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// oNoAtime: these systems have no O_NOATIME.
const oNoAtime = 0

// errNoAttr is the error for an attribute that does not exist.
const errNoAttr = unix.ENOATTR

func statOf(fi fs.FileInfo) (sysStat, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return sysStat{}, false
	}
	return sysStat{uid: st.Uid, gid: st.Gid, ino: uint64(st.Ino), dev: uint64(st.Dev), nlink: uint64(st.Nlink), rdev: uint64(st.Rdev),
		ctime: time.Unix(int64(st.Ctimespec.Sec), int64(st.Ctimespec.Nsec)).UTC(),
		atime: time.Unix(int64(st.Atimespec.Sec), int64(st.Atimespec.Nsec)).UTC()}, true
}
