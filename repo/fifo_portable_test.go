//go:build !linux || cairn_portable

package repo

import "testing"

// mkfifo makes nothing: the portable restore (every platform but Linux)
// reports FIFOs instead of creating them, so the test tree has none.
func mkfifo(testing.TB, string) {}
