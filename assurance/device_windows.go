package assurance

import "path/filepath"

// device returns a path's volume (C:, or \\server\share) as a number:
// another volume than the source's counts as another filesystem.
func device(p string) (uint64, bool) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return 0, false
	}
	vol := filepath.VolumeName(abs)
	if vol == "" {
		return 0, false
	}
	var h uint64 = 14695981039346656037 // FNV-1a
	for i := 0; i < len(vol); i++ {
		h = (h ^ uint64(vol[i]|0x20)) * 1099511628211
	}
	return h, true
}
