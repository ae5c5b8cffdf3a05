package main

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

// nodeJSON is a node as ls --json and find --json print it.
func nodeJSON(p string, n *snapshot.Node) message.Node { return engine.NodeMessage(p, n) }

func longLine(p string, n *snapshot.Node) string {
	size := ""
	if n.Type == snapshot.TypeFile {
		size = fmt.Sprint(n.Size)
	}
	user, group := n.User, n.Group
	if user == "" {
		user = fmt.Sprint(n.UID)
	}
	if group == "" {
		group = fmt.Sprint(n.GID)
	}
	line := fmt.Sprintf("%-10s %8s %8s %12s %s %s", n.FileMode(), user, group, size, n.ModTime.Local().Format(time.DateTime), p)
	if n.Type == snapshot.TypeSymlink {
		line += " -> " + n.LinkTarget
	}
	return line
}

func newLsCmd(g *globals) *cobra.Command {
	var f snapFilter
	var long, recursive bool
	cmd := &cobra.Command{
		Use:   "ls SNAPSHOT [PATH]",
		Short: "List files in a snapshot",
		Long: `List the entries below PATH (default "/") in a snapshot, recursively
unless --recursive=false.`,
		Example: `  cairn ls latest
  cairn ls -l 3f2a9c1b /home/ann/projects
  cairn ls latest /etc --recursive=false --json`,
		Args: cobra.RangeArgs(1, 2),
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
			dir := "/"
			if len(args) == 2 {
				dir = path.Clean("/" + args[1])
			}
			node, err := engine.FindNode(ctx, r, s, dir)
			if err != nil {
				return err
			}
			if g.json {
				head := snapshotJSON(s)
				head.StructType, head.MessageType = "snapshot", "snapshot"
				_ = g.printJSON(head)
			} else {
				g.printf("snapshot %s of [%s] at %s:\n", s.ID.Short(), strings.Join(s.Paths, " "), s.Time.Local().Format(time.DateTime))
			}
			show := func(p string, n *snapshot.Node) error {
				switch {
				case g.json:
					return g.printJSON(nodeJSON(p, n))
				case long:
					g.printf("%s\n", longLine(p, n))
				default:
					g.printf("%s\n", p)
				}
				return nil
			}
			if node.Type != snapshot.TypeDir {
				return show(dir, node)
			}
			dmg := &damage{g: g, during: "ls"}
			if err := snapshot.Walk(ctx, r, node.Subtree, dir, dmg.report, func(p string, n *snapshot.Node) error {
				if err := show(p, n); err != nil {
					return err
				}
				if !recursive && n.Type == snapshot.TypeDir {
					return snapshot.ErrSkipDir
				}
				return nil
			}); err != nil {
				return err
			}
			return dmg.err()
		},
	}
	f.addFlags(cmd.Flags())
	cmd.Flags().BoolVarP(&long, "long", "l", false, "show mode, owner, size and time")
	cmd.Flags().BoolVar(&recursive, "recursive", true, "list subdirectories too")
	return cmd
}
