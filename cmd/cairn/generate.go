package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func newGenerateCmd(g *globals) *cobra.Command {
	var manDir, bash, zsh, fish, pwsh string
	cmd := &cobra.Command{
		Use:   "generate [--man DIR] [--bash-completion FILE] [--zsh-completion FILE] [--fish-completion FILE] [--powershell-completion FILE]",
		Short: "Write man pages and shell completions",
		Long: `Write a man page for every command into a directory, and completion
scripts for bash, zsh, fish and PowerShell, as restic's generate does.
"make install" installs them.`,
		Example: `  cairn generate --man /usr/local/share/man/man1
  cairn generate --bash-completion /etc/bash_completion.d/cairn
  cairn generate --zsh-completion ~/.zfunc/_cairn`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			if manDir == "" && bash == "" && zsh == "" && fish == "" && pwsh == "" {
				return errors.New("nothing to generate: give --man DIR or a --*-completion FILE")
			}
			if manDir != "" {
				if err := os.MkdirAll(manDir, 0o755); err != nil {
					return err
				}
				hdr := &doc.GenManHeader{Title: "CAIRN", Section: "1", Source: "cairn " + version}
				root.DisableAutoGenTag = true
				if err := doc.GenManTree(root, hdr, manDir); err != nil {
					return fmt.Errorf("man pages: %w", err)
				}
				g.printf("wrote man pages to %s\n", manDir)
			}
			for _, c := range []struct {
				file string
				gen  func(string) error
			}{
				{bash, func(f string) error { return root.GenBashCompletionFileV2(f, true) }},
				{zsh, root.GenZshCompletionFile},
				{fish, func(f string) error { return root.GenFishCompletionFile(f, true) }},
				{pwsh, root.GenPowerShellCompletionFileWithDesc},
			} {
				if c.file == "" {
					continue
				}
				if err := c.gen(c.file); err != nil {
					return fmt.Errorf("completion %s: %w", c.file, err)
				}
				g.printf("wrote %s\n", c.file)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&manDir, "man", "", "write man pages into `dir`")
	f.StringVar(&bash, "bash-completion", "", "write the bash completion script to `file`")
	f.StringVar(&zsh, "zsh-completion", "", "write the zsh completion script to `file`")
	f.StringVar(&fish, "fish-completion", "", "write the fish completion script to `file`")
	f.StringVar(&pwsh, "powershell-completion", "", "write the PowerShell completion script to `file`")
	return cmd
}
