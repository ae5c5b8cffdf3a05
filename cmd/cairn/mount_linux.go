//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/mount"
	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
)

// fuseDeviceEnv replaces /dev/fuse for mount, to test a machine without
// FUSE (a test hook, like the CAIRN_TEST_ variables of testhooks.go).
const fuseDeviceEnv = "CAIRN_TEST_FUSE_DEVICE"

func runMount(cmd *cobra.Command, g *globals, dir string, o *mountFlags) error {
	ctx := cmd.Context()
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("mount point %s is not a folder", dir)
	}
	if dev := os.Getenv(fuseDeviceEnv); dev != "" {
		mount.Device = dev // a test of a machine without FUSE
	}
	if err := mount.Available(); err != nil {
		return &codeError{code: exitError, err: err}
	}
	cacheBytes, err := humanize.ParseBytes(o.cacheSize)
	if err != nil {
		return fmt.Errorf("--cache-size %q: want a size such as 512MiB", o.cacheSize)
	}
	r, unlock, err := g.openReading(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	defer engine.GovernMemory(mount.Memory(int64(cacheBytes)))()
	refresh := o.refresh
	if refresh <= 0 {
		refresh = -1 // list on every look
	}
	m, err := mount.Mount(ctx, r, dir, mount.Options{CacheBytes: int64(cacheBytes), Refresh: refresh, AllowOther: o.allowOther,
		Filter: o.filter.sel.Match,
		Log:    func(f string, a ...any) { fmt.Fprintf(g.stderr, f+"\n", a...) }})
	if err != nil {
		return err
	}
	g.verbosef(0, "repository %s mounted at %s; Ctrl-C or SIGTERM unmounts\n", r.Config().ID.Short(), dir)
	done := make(chan struct{})
	go func() { m.Wait(); close(done) }()
	select {
	case <-ctx.Done():
		if err := m.Unmount(); err != nil {
			fmt.Fprintf(g.stderr, "warning: %v\n", err)
		}
		<-done
		g.verbosef(0, "unmounted %s\n", dir)
		return ctx.Err()
	case <-done:
		return errors.New("unmounted from outside (fusermount -u or umount)")
	}
}
