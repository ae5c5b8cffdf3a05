package snapshot

import (
	"io/fs"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// oNoAtime opens a file without updating its access time, where the
// caller may (the owner, or root); saveFile retries without it.
const oNoAtime = syscall.O_NOATIME

// errNoAttr is the error for an attribute that does not exist.
const errNoAttr = unix.ENODATA

func statOf(fi fs.FileInfo) (sysStat, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return sysStat{}, false
	}
	return sysStat{uid: st.Uid, gid: st.Gid, ino: st.Ino, dev: uint64(st.Dev), nlink: uint64(st.Nlink), rdev: uint64(st.Rdev),
		ctime: time.Unix(st.Ctim.Sec, st.Ctim.Nsec).UTC(), atime: time.Unix(st.Atim.Sec, st.Atim.Nsec).UTC()}, true
}
