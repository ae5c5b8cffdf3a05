package main

import (
	"fmt"
	"path"

	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

func newDumpCmd(g *globals) *cobra.Command {
	var f snapFilter
	cmd := &cobra.Command{
		Use:   "dump SNAPSHOT PATH",
		Short: "Write a file to stdout, or a directory as a tar stream",
		Example: `  cairn dump latest /etc/hosts
  cairn dump latest /home/ann/projects > projects.tar
  cairn dump --host db1 latest /mydb.sql | psql mydb`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
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
				return engine.WriteFile(ctx, r, g.stdout, node)
			case snapshot.TypeDir:
				dmg := &damage{g: g, during: "dump"}
				if err := engine.WriteTar(ctx, r, g.stdout, node, p, dmg.report); err != nil {
					return err
				}
				return dmg.err()
			}
			return fmt.Errorf("%s is a %v; dump takes a file or a directory", p, node.Type)
		},
	}
	f.addFlags(cmd.Flags())
	return cmd
}
