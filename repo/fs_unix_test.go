//go:build unix

package repo

import (
	"io/fs"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

type fileIDs struct {
	uid, gid   uint32
	ino, nlink uint64
}

func statIDs(fi fs.FileInfo) fileIDs {
	st := fi.Sys().(*syscall.Stat_t)
	return fileIDs{uid: st.Uid, gid: st.Gid, ino: uint64(st.Ino), nlink: uint64(st.Nlink)}
}

func setXattr(p, name string, value []byte) { _ = unix.Setxattr(p, name, value, 0) }

func getXattr(p, name string) (string, bool) {
	x := make([]byte, 256)
	n, err := unix.Lgetxattr(p, name, x)
	if err != nil {
		return "", false
	}
	return string(x[:n]), true
}

func lutimes(p string, t time.Time) error {
	tv := unix.NsecToTimeval(t.UnixNano())
	return unix.Lutimes(p, []unix.Timeval{tv, tv})
}

// allocated is the disk space a file takes.
func allocated(t testing.TB, p string) int64 {
	var st syscall.Stat_t
	must(t, syscall.Stat(p, &st))
	return int64(st.Blocks) * 512
}
