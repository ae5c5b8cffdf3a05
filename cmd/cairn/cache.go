package main

import (
	"errors"
	"time"

	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/message"
	"github.com/spf13/cobra"
)

func newCacheCmd(g *globals) *cobra.Command {
	var cleanup bool
	var maxAge int
	cmd := &cobra.Command{
		Use:   "cache [--cleanup [--max-age DAYS]]",
		Short: "List the local caches of remote repositories, or remove old ones",
		Long: `Remote (S3) repositories keep copies of their keys, index files and
snapshots in a cache folder (--cache-dir, default ~/.cache/cairn), one
folder per repository location. List them with their size and last use;
--cleanup removes those not used for --max-age days (default 30), as
restic's "cache --cleanup" does. A removed cache only costs downloads.`,
		Example: `  cairn cache
  cairn cache --cleanup --max-age 7`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := g.cacheLocation()
			if root == "" {
				return errors.New("no cache folder: give --cache-dir (or do not give --no-cache)")
			}
			out := message.CacheList{Dir: root, Caches: []message.CacheEntry{}}
			if cleanup {
				removed, err := engine.CleanupCaches(root, time.Duration(maxAge)*24*time.Hour)
				for _, e := range removed {
					out.Removed = append(out.Removed, cacheEntry(e))
					if !g.json {
						g.printf("removed %s (last used %s, %s)\n", e.Name, e.LastUsed.Local().Format("2006-01-02"), ibytes(uint64(e.Size)))
					}
				}
				if err != nil {
					return err
				}
			}
			list, err := engine.ListCaches(root)
			if err != nil {
				return err
			}
			for _, e := range list {
				out.Caches = append(out.Caches, cacheEntry(e))
			}
			if g.json {
				return g.printJSON(out)
			}
			if len(list) == 0 {
				g.printf("no repository caches in %s\n", root)
				return nil
			}
			g.printf("repository caches in %s:\n", root)
			for _, e := range list {
				g.printf("  %s  last used %s  %5d files  %s\n", e.Name, e.LastUsed.Local().Format("2006-01-02 15:04"), e.Files, ibytes(uint64(e.Size)))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&cleanup, "cleanup", false, "remove caches not used for --max-age days")
	cmd.Flags().IntVar(&maxAge, "max-age", 30, "with --cleanup, the `days` a cache may go unused")
	return cmd
}

func cacheEntry(e engine.CacheEntry) message.CacheEntry {
	return message.CacheEntry{Name: e.Name, LastUsed: e.LastUsed, Size: e.Size, Files: e.Files}
}
