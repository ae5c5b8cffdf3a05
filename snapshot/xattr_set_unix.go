//go:build darwin || freebsd || (linux && cairn_portable)

package snapshot

import (
	"os"

	"golang.org/x/sys/unix"
)

func fsetxattr(f *os.File, name string, value []byte) error {
	return unix.Fsetxattr(int(f.Fd()), name, value, 0)
}
