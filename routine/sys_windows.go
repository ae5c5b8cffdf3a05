package routine

import (
	"errors"
	"os"
	"os/exec"

	"golang.org/x/sys/windows"
)

// killGroup makes cancelling cmd kill it. Windows has no process groups
// of this kind: a hook's own children may outlive it.
func killGroup(cmd *exec.Cmd) {
	cmd.Cancel = func() error { return cmd.Process.Kill() }
}

// lockFile takes an exclusive lock on f; with wait false it fails at once
// with errLocked when another process holds it. The lock goes with the
// process.
func lockFile(f *os.File, wait bool) error {
	flags := uint32(windows.LOCKFILE_EXCLUSIVE_LOCK)
	if !wait {
		flags |= windows.LOCKFILE_FAIL_IMMEDIATELY
	}
	err := windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, 1, 0, &windows.Overlapped{})
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return errLocked
	}
	return err
}

// diskSpace returns the bytes free (for this user) and the size of the
// filesystem holding path.
func diskSpace(path string) (free, total uint64, err error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, 0, err
	}
	var totalFree uint64
	err = windows.GetDiskFreeSpaceEx(p, &free, &total, &totalFree)
	return free, total, err
}
