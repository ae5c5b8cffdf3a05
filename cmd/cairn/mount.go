package main

import (
	"time"

	"github.com/spf13/cobra"
)

// mountFlags are mount's options.
type mountFlags struct {
	filter     snapFilter
	allowOther bool
	foreground bool
	cacheSize  string
	refresh    time.Duration
}

func newMountCmd(g *globals) *cobra.Command {
	var o mountFlags
	cmd := &cobra.Command{
		Use:   "mount MOUNTPOINT",
		Short: "Browse every snapshot as a read-only file system",
		Long: `Mount the repository read-only at MOUNTPOINT through FUSE, laid out as
restic's mount:

  snapshots/<time>/      every snapshot, by its time, and a "latest" link
  ids/<short id>/        every snapshot by its ID
  hosts/<host>/<time>/   per host, with "latest"
  tags/<tag>/<time>/     per tag, with "latest"

Inside a snapshot are its paths with their modes, owners, times, sizes,
link counts, symlinks and extended attributes. A read loads only the blobs
that hold the bytes asked for (reading the last 4 KiB of a 10 GiB file
reads one blob), through a cache of recent blobs and trees of
--cache-size. New snapshots appear without remounting: a snapshot folder
lists the repository again when its listing is older than --refresh, and
the index is read again when its files changed (a read whose pack a
prune removed reads it again and retries once).

Damaged data is an I/O error on that file alone, named on stderr; names a
restore would refuse are left out with a warning. The mount holds a
shared lock, refreshed while mounted. It runs in the foreground (as
restic's); Ctrl-C or SIGTERM unmounts and exits 130. Without FUSE
(/dev/fuse missing or not permitted) it says so and exits 1.`,
		Example: `  mkdir /mnt/backup && cairn mount /mnt/backup
  cairn mount --host web1 --tag daily /mnt/backup
  cp /mnt/backup/snapshots/latest/home/ann/notes.txt ~/notes.txt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runMount(cmd, g, args[0], &o) },
	}
	o.filter.addFlags(cmd.Flags())
	f := cmd.Flags()
	f.BoolVar(&o.allowOther, "allow-other", false, "let other users read the mount (needs user_allow_other in /etc/fuse.conf unless root)")
	f.BoolVar(&o.foreground, "foreground", true, "stay in the foreground (the only mode; accepted for restic's scripts)")
	f.StringVar(&o.cacheSize, "cache-size", "256MiB", "keep up to `size` of recently read blobs and trees in memory")
	durationVar(f, &o.refresh, "refresh", time.Minute, "list the snapshots again when the listing is older than `duration` (0: on every look)")
	return cmd
}
