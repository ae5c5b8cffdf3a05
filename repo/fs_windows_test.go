package repo

import (
	"io/fs"
	"testing"
	"time"
)

// The tree of the tests has no FIFO, xattr, owner or inode on Windows.
type fileIDs struct {
	uid, gid   uint32
	ino, nlink uint64
}

func statIDs(fs.FileInfo) fileIDs { return fileIDs{} }

func setXattr(string, string, []byte) {}

func getXattr(string, string) (string, bool) { return "", false }

func lutimes(string, time.Time) error { return nil }

// allocated is unknown here: 0.
func allocated(testing.TB, string) int64 { return 0 }
