//go:build !linux

package main

import (
	"errors"
	"runtime"

	"github.com/spf13/cobra"
)

func runMount(*cobra.Command, *globals, string, *mountFlags) error {
	return errors.New("cairn mount works on Linux only, not on " + runtime.GOOS)
}
