package main

import (
	"fmt"
	"os"
	"path"

	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

func newDumpCmd(g *globals) *cobra.Command {
	var f snapFilter
	var archive, target string
	cmd := &cobra.Command{
		Use:   "dump SNAPSHOT PATH",
		Short: "Write a file to stdout, or a directory as a tar or zip archive",
		Long: `Write a file's content, or a directory as a tar (or, with --archive zip,
a zip) archive, to standard output or to --target FILE. Entries whose
names restore would refuse are left out and named, as are directories
that cannot be read (exit code 1).`,
		Example: `  cairn dump latest /etc/hosts
  cairn dump latest /home/ann/projects > projects.tar
  cairn dump --archive zip --target projects.zip latest /home/ann/projects
  cairn dump --host db1 latest /mydb.sql | psql mydb`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if archive != "tar" && archive != "zip" {
				return fmt.Errorf("--archive %q: want tar or zip", archive)
			}
			out := g.stdout
			if target != "" {
				file, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return fmt.Errorf("--target: %w", err)
				}
				defer file.Close()
				out = file
			}
			// A dump that stops part-way leaves no partial --target file.
			failed := func(err error) error {
				if target != "" {
					_ = os.Remove(target)
				}
				return err
			}
			r, err := g.openRepo(ctx)
			if err != nil {
				return err
			}
			s, err := f.find(ctx, r, args[0])
			if err != nil {
				return err
			}
			p := path.Clean("/" + args[1])
			node, err := engine.FindNode(ctx, r, s, p)
			if err != nil {
				return err
			}
			switch node.Type {
			case snapshot.TypeFile:
				if err := engine.WriteFile(ctx, r, out, node); err != nil {
					return failed(err)
				}
				return nil
			case snapshot.TypeDir:
				dmg := &damage{g: g, during: "dump"}
				write := engine.WriteTar
				if archive == "zip" {
					write = engine.WriteZip
				}
				if err := write(ctx, r, out, node, p, dmg.report); err != nil {
					return failed(err)
				}
				return dmg.err()
			}
			return fmt.Errorf("%s is a %v; dump takes a file or a directory", p, node.Type)
		},
	}
	f.addFlags(cmd.Flags())
	cmd.Flags().StringVarP(&archive, "archive", "a", "tar", "archive `format` for a directory: tar or zip")
	cmd.Flags().StringVarP(&target, "target", "t", "", "write to `file` (created; never overwritten) instead of standard output")
	return cmd
}
