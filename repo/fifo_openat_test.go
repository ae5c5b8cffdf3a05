//go:build linux && !cairn_portable

package repo

import (
	"testing"

	"golang.org/x/sys/unix"
)

// mkfifo makes a FIFO for the test tree: restore recreates FIFOs on Linux.
func mkfifo(t testing.TB, p string) { must(t, unix.Mkfifo(p, 0o600)) }
