package main

import (
	"context"
	"io/fs"
	"path/filepath"

	"github.com/cairn-backup/cairn/snapshot"
)

// scanTotals counts the files and bytes below paths, for the progress
// display's totals and ETA. It honours the path filter only.
func scanTotals(ctx context.Context, paths []string, filter *snapshot.Filter, c *counters) {
	for _, root := range paths {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if filter.Match(filepath.ToSlash(p), d.IsDir()) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					c.totalFiles.Add(1)
					c.totalBytes.Add(uint64(fi.Size()))
				}
			}
			return nil
		})
	}
	c.totalsFinal.Store(true)
}
