package main

import (
	"runtime"

	"github.com/cairn-backup/cairn/message"
	"github.com/spf13/cobra"
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.report(message.Version{MessageType: "version", Version: version, GoVersion: runtime.Version()},
				"cairn %s compiled with %s on %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}
