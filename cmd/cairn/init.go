package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cairn-backup/cairn/duration"
	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/repo"
	"github.com/spf13/cobra"
)

func newInitCmd(g *globals) *cobra.Command {
	var packSize, retentionMode, retentionPeriod string
	var src source
	var copyChunker bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a new repository",
		Long: `Create a new, empty repository at the location given by -r/--repo.

A random master key is generated and stored encrypted under your password.
Without the password the repository cannot be read: keep it safe.`,
		Example: `  cairn init -r /srv/backup
  CAIRN_PASSWORD_FILE=~/.cairn-pw cairn init -r local:/mnt/usb/repo --pack-size 32MiB
  cairn init -r s3:https://s3.example.com/bucket/laptop --copy-chunker-params --from-repo /srv/backup
  cairn init -r s3:https://s3.example.com/offsite/app --retention-mode governance --retention-period 30d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			lock, err := engine.ParseLock(retentionMode, retentionPeriod)
			if err != nil {
				return err
			}
			g.objectLock = lock.Enabled()
			be, err := g.openBackend()
			if err != nil {
				return err
			}
			opts, err := g.options()
			if err != nil {
				return err
			}
			if opts.PackSize, err = engine.ParsePackSize(packSize); err != nil {
				return err
			}
			opts.Lock = lock
			if copyChunker {
				from, err := src.open(ctx, g)
				if err != nil {
					return err
				}
				opts.From = from
			} else if src.repo != "" && cmd.Flags().Changed("from-repo") {
				return errors.New("--from-repo needs --copy-chunker-params")
			}
			pw, err := g.initPassword(ctx)
			if err != nil {
				return err
			}
			r, err := engine.Init(ctx, be, pw, opts)
			if errors.Is(err, repo.ErrExists) {
				return fmt.Errorf("a repository already exists at %s", g.repo)
			}
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(message.Done{MessageType: "initialized", ID: r.Config().ID.String(), Repository: g.repo})
			}
			g.printf("created cairn repository %s at %s\n", r.Config().ID.Short(), g.repo)
			if l := r.LockPolicy(); l.Enabled() {
				span := duration.Span{Clock: l.Period}
				if l.Period%(24*time.Hour) == 0 {
					span = duration.Span{Days: int(l.Period / (24 * time.Hour))}
				}
				g.printf("object lock: every file is retained in %s mode for %s after it is written (prune extends what is in use)", l.Mode, span)
				if l.Period%(24*time.Hour) == 0 {
					g.printf("; the bucket's default retention is the same")
				}
				g.printf("\n")
			}
			g.printf("\n")
			g.printf("Knowledge of the password is required to access the repository.\nLosing it means the data in the repository is irrecoverably lost.\n")
			return nil
		},
	}
	cmd.Flags().StringVar(&packSize, "pack-size", "16MiB", "target `size` of pack files")
	cmd.Flags().StringVar(&retentionMode, "retention-mode", "", "S3 object lock `mode` of every file: governance or compliance (creates the bucket with locking)")
	cmd.Flags().StringVar(&retentionPeriod, "retention-period", "", "with --retention-mode, how long each file stays locked after it is written or last in use (`duration`: 30d, 12w)")
	cmd.Flags().BoolVar(&copyChunker, "copy-chunker-params", false, "take the chunker parameters (and blob-ID key) of --from-repo")
	src.addFlags(cmd.Flags())
	return cmd
}

// initPassword asks for the new repository's password, twice when typed.
func (g *globals) initPassword(ctx context.Context) ([]byte, error) {
	if g.passwordCommand != "" || g.passwordFile != "" {
		return g.password(ctx, "")
	}
	if _, ok := os.LookupEnv("CAIRN_PASSWORD"); ok {
		return g.password(ctx, "")
	}
	pw, err := g.promptPassword("enter password for new repository: ")
	if err != nil {
		return nil, err
	}
	again, err := g.promptPassword("enter password again: ")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(pw, again) {
		return nil, errors.New("the passwords do not match")
	}
	return pw, nil
}
