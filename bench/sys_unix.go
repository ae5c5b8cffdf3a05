//go:build unix

package bench

import (
	"os"
	"runtime"
	"syscall"
)

// syncDisks writes back dirty pages, so that no step pays for another's
// writes.
func syncDisks() { syscall.Sync() }

// peakRSSKB is a finished process's peak resident set in KiB (0 if
// unknown). macOS reports it in bytes, the others in KiB.
func peakRSSKB(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss) >> 10
	}
	return int64(ru.Maxrss)
}
