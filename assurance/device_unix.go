//go:build unix

package assurance

import (
	"path/filepath"
	"syscall"
)

// device returns the filesystem device of a path, or of its nearest
// existing parent.
func device(p string) (uint64, bool) {
	for {
		var st syscall.Stat_t
		if syscall.Stat(p, &st) == nil {
			return uint64(st.Dev), true
		}
		parent := filepath.Dir(p)
		if parent == p {
			return 0, false
		}
		p = parent
	}
}
