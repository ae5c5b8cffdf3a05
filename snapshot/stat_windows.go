package snapshot

import (
	"io/fs"
	"syscall"
	"time"
)

// oNoAtime: Windows has no O_NOATIME.
const oNoAtime = 0

// statOf gives what Windows knows beyond fs.FileInfo: the access time.
// Owners, inodes, link counts and change times are not recorded there,
// so a backup made on Windows restores no owner and always re-reads
// files whose size and modification time look unchanged only by those.
func statOf(fi fs.FileInfo) (sysStat, bool) {
	d, ok := fi.Sys().(*syscall.Win32FileAttributeData)
	if !ok {
		return sysStat{}, false
	}
	return sysStat{atime: time.Unix(0, d.LastAccessTime.Nanoseconds()).UTC(), ctime: fi.ModTime().UTC()}, true
}
