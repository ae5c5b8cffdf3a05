package snapshot

import (
	"errors"
	"os"
)

// errNoXattrs says that Windows has no extended attributes of this kind:
// a snapshot's xattrs cannot be restored there, and each file that had
// some is reported.
var errNoXattrs = errors.New("extended attributes are not supported on Windows")

func fsetxattr(*os.File, string, []byte) error { return errNoXattrs }

// readXattrs finds none: Windows files have no POSIX extended attributes.
func readXattrs(string) ([]Xattr, error) { return nil, nil }
