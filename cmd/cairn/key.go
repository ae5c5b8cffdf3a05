package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/repo"
	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
)

func newKeyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage the repository's keys (passwords)",
		Long: `A repository can have several keys, each opening it with its own password.
Every key wraps the same master key, so adding or removing one re-encrypts
nothing.`,
		Example: `  cairn key list
  cairn key add --new-password-file ./colleague.pw
  cairn key remove 3f2a9c1b
  cairn key passwd`,
	}
	var newPwFile string
	list := &cobra.Command{
		Use:   "list",
		Short: "List keys; the one in use is marked with *",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return runKeyList(cmd, g) },
	}
	add := &cobra.Command{
		Use:   "add",
		Short: "Add a key with a new password",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := g.openRepo(cmd.Context())
			if err != nil {
				return err
			}
			pw, err := g.newPassword(newPwFile)
			if err != nil {
				return err
			}
			name, err := r.AddKey(cmd.Context(), pw)
			if err != nil {
				return err
			}
			return g.report(message.Done{MessageType: "key_added", ID: name}, "saved new key %s\n", name[:8])
		},
	}
	remove := &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a key (not the one in use, never the last)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, unlock, err := g.openLocked(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer unlock()
			name, err := r.RemoveKey(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.report(message.Done{MessageType: "key_removed", ID: name}, "removed key %s\n", name[:8])
		},
	}
	passwd := &cobra.Command{
		Use:   "passwd",
		Short: "Change the password of the key in use",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, unlock, err := g.openLocked(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer unlock()
			pw, err := g.newPassword(newPwFile)
			if err != nil {
				return err
			}
			name, err := r.ChangePassword(cmd.Context(), pw)
			if err != nil {
				return err
			}
			return g.report(message.Done{MessageType: "password_changed", ID: name}, "password changed; new key %s\n", name[:8])
		},
	}
	for _, c := range []*cobra.Command{add, passwd} {
		c.Flags().StringVar(&newPwFile, "new-password-file", "", "read the new password from `file`")
	}
	cmd.AddCommand(list, add, remove, passwd)
	return cmd
}

// report prints v as JSON with --json, else the formatted text.
func (g *globals) report(v any, format string, args ...any) error {
	if g.json {
		return g.printJSON(v)
	}
	g.printf(format, args...)
	return nil
}

// runKeyList prints the key files as a table or JSON.
func runKeyList(cmd *cobra.Command, g *globals) error {
	r, err := g.openRepoIndex(cmd.Context(), true) // keys need no index

	if err != nil {
		return err
	}
	keys, err := r.Keys(cmd.Context())
	if err != nil {
		return err
	}
	if g.json {
		out := []message.Key{}
		for _, k := range keys {
			out = append(out, keyJSON(k))
		}
		return g.printJSON(out)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, " ID\tUser\tHost\tCreated\tKDF")
	for _, k := range keys {
		mark := " "
		if k.Current {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\targon2id t=%d m=%s\n", mark, k.Name[:8], k.Meta.User, k.Meta.Host,
			k.Meta.Created.Local().Format("2006-01-02 15:04:05"), k.Params.Time, humanize.IBytes(uint64(k.Params.MemoryKiB)<<10))
	}
	return tw.Flush()
}

// keyJSON is a key file as key list --json and cat keys print it.
func keyJSON(k repo.KeyInfo) message.Key {
	return message.Key{ID: k.Name, Current: k.Current, User: k.Meta.User, Host: k.Meta.Host, Created: k.Meta.Created,
		KDF: "argon2id", KDFTime: k.Params.Time, KDFMemory: uint64(k.Params.MemoryKiB) << 10, KDFThreads: k.Params.Threads}
}
