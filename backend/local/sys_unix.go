//go:build unix

package local

import (
	"errors"
	"fmt"
	"os"
)

// storedMode is the mode of stored files: read-only, a guard against
// accidental changes.
const storedMode = 0o400

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
