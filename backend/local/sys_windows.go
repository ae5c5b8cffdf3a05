package local

// storedMode leaves stored files writable on Windows, where a read-only
// file cannot be removed (prune) or replaced.
const storedMode = 0o600

// syncDir does nothing on Windows: NTFS journals renames itself, and a
// directory handle cannot be flushed.
func syncDir(string) error { return nil }
