package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"
)

// markdownSpecial are the characters the man page renderer (markdown to
// roff) would take for emphasis or links: "*.o" would lose its star,
// "[/PREFIX] (env ...)" would become a link.
var markdownSpecial = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`)

// escapeMarkdown escapes s for the man page renderer, but for the text
// between backquotes (a flag's placeholder, a code span), which markdown
// takes literally.
func escapeMarkdown(s string) string {
	parts := strings.Split(s, "`")
	for i := 0; i < len(parts); i += 2 {
		parts[i] = markdownSpecial.Replace(parts[i])
	}
	return strings.Join(parts, "`")
}

// escapeForMan escapes the help texts and flag descriptions of c and its
// subcommands, so that the man pages say exactly what --help says. It
// changes c: generate runs it just before writing the pages. A flag that
// several commands share is escaped once.
func escapeForMan(c *cobra.Command) {
	seen := map[*pflag.Flag]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Long = escapeMarkdown(c.Long)
		c.Short = escapeMarkdown(c.Short)
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.InheritedFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if !seen[f] {
					seen[f] = true
					f.Usage = escapeMarkdown(f.Usage)
				}
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(c)
}

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
				escapeForMan(root)
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
