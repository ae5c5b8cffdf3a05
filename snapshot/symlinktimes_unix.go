//go:build (unix && !linux) || (linux && cairn_portable)

package snapshot

import (
	"os"
	"path"
	"time"

	"golang.org/x/sys/unix"
)

// setSymlinkTimes sets a symlink's own times, relative to a descriptor of
// its directory opened through the root: the link is never followed.
func setSymlinkTimes(root *os.Root, rel string, atime, mtime time.Time) error {
	d, err := root.Open(path.Dir(rel))
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	return unix.UtimesNanoAt(int(d.Fd()), path.Base(rel), ts, unix.AT_SYMLINK_NOFOLLOW)
}
