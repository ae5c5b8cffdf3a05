package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// source holds the options naming a second repository (--from-repo).
type source struct {
	repo, passwordFile, passwordCommand string
}

func (s *source) addFlags(f *pflag.FlagSet) {
	f.StringVar(&s.repo, "from-repo", os.Getenv("CAIRN_FROM_REPOSITORY"), "source repository `location` (env CAIRN_FROM_REPOSITORY)")
	f.StringVar(&s.passwordFile, "from-password-file", os.Getenv("CAIRN_FROM_PASSWORD_FILE"), "source password `file` (env CAIRN_FROM_PASSWORD_FILE)")
	f.StringVar(&s.passwordCommand, "from-password-command", os.Getenv("CAIRN_FROM_PASSWORD_COMMAND"), "source password `command` (env CAIRN_FROM_PASSWORD_COMMAND)")
}

// open opens the source repository.
func (s *source) open(ctx context.Context, g *globals) (*repo.Repository, error) {
	if s.repo == "" {
		return nil, errors.New("no source repository: give --from-repo or set CAIRN_FROM_REPOSITORY")
	}
	// The source is locked next, and Lock refreshes a kept index.
	return g.kept(ctx, repoKey(s.repo, s.passwordFile, s.passwordCommand, g.s3FromCreds), false,
		func() (*repo.Repository, error) { return s.openFresh(ctx, g) })
}

// openFresh opens the source repository, deriving its key.
func (s *source) openFresh(ctx context.Context, g *globals) (*repo.Repository, error) {
	be, err := g.openLocation(s.repo, g.s3FromCreds, "CAIRN_FROM_")
	if err != nil {
		return nil, err
	}
	var pw []byte
	switch {
	case s.passwordCommand != "":
		pw, err = engine.PasswordFromCommand(ctx, s.passwordCommand, g.workDir)
	case s.passwordFile != "":
		pw, err = engine.ReadPasswordFile(s.passwordFile)
	case os.Getenv("CAIRN_FROM_PASSWORD") != "":
		pw = []byte(os.Getenv("CAIRN_FROM_PASSWORD"))
	case g.repoCache != nil && os.Getenv("CAIRN_PASSWORD") != "":
		// Inside a run, one password for every repository, from the
		// environment, as a run's child commands get it.
		pw = []byte(os.Getenv("CAIRN_PASSWORD"))
	default:
		if pw, err = g.promptPassword("enter password for the source repository: "); err != nil {
			err = errors.New("no password for the source repository: set CAIRN_FROM_PASSWORD, CAIRN_FROM_PASSWORD_FILE or --from-password-file")
		}
	}
	if err != nil {
		return nil, err
	}
	opts, err := g.options()
	if err != nil {
		return nil, err
	}
	opts.DeferIndex = true // copy locks the source next, then loads its index
	r, err := repo.Open(ctx, be, pw, opts)
	if err != nil {
		return nil, fmt.Errorf("source repository: %w", err)
	}
	return r, nil
}

func newCopyCmd(g *globals) *cobra.Command {
	var src source
	var f snapFilter
	cmd := &cobra.Command{
		Use:   "copy --from-repo SRC [SNAPSHOT...]",
		Short: "Copy snapshots from another repository into this one",
		Long: `Copy snapshots (default: all, narrowed by --host, --tag, --path) from the
repository given by --from-repo into the one given by -r, for example from
a local repository to an offsite one on S3.

Snapshots the destination already has are skipped; data is re-encrypted
with the destination's keys and only blobs the destination lacks are
uploaded. A copy can be killed and run again to finish. The repositories
may have different passwords and keys; a destination created with
"init --copy-chunker-params --from-repo SRC" shares the source's chunker,
so copies and direct backups deduplicate against each other, and its blob
IDs, so unchanged data is not even read.`,
		Example: `  cairn -r s3:https://s3.example.com/backups/laptop copy --from-repo /srv/backup
  cairn -r /mnt/usb/repo copy --from-repo /srv/backup --from-password-file ~/.src-pw latest
  cairn copy --from-repo /srv/backup --host web1 --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			from, err := src.open(ctx, g)
			if err != nil {
				return err
			}
			unlockSrc, err := g.lock(ctx, from, false)
			if err != nil {
				return fmt.Errorf("source repository: %w", err)
			}
			defer unlockSrc()
			dst, unlock, err := g.openLocked(ctx, false)
			if err != nil {
				return err
			}
			defer unlock()
			snaps, err := f.pick(ctx, from, args)
			if err != nil {
				return err
			}
			rep, err := repo.Copy(ctx, from, dst, snaps, func(s, ns *snapshot.Snapshot) {
				if !g.json {
					g.printf("copied snapshot %s as %s\n", s.ID.Short(), ns.ID.Short())
				}
			})
			if rep == nil {
				return err
			}
			ids := []string{}
			for _, s := range rep.Copied {
				ids = append(ids, s.ID.String())
			}
			interrupted := err != nil && ctx.Err() != nil
			verb := "copied"
			switch {
			case interrupted:
				verb = "interrupted after copying"
			case err != nil:
				verb = "failed after copying"
			}
			if rerr := g.report(message.CopySummary{MessageType: message.TypeSummary, MessageVersion: message.SchemaVersion, SnapshotsCopied: len(rep.Copied),
				SnapshotsSkipped: rep.Skipped, BlobsCopied: rep.BlobsCopied, BytesCopied: rep.BytesCopied,
				BlobsPresent: rep.BlobsPresent, NewSnapshots: ids, Interrupted: interrupted},
				"%s %d of %d snapshots (%d already present): %d blobs, %s uploaded; %d blobs were already there\n",
				verb, len(rep.Copied), len(snaps)-rep.Skipped, rep.Skipped, rep.BlobsCopied, ibytes(rep.BytesCopied), rep.BlobsPresent); rerr != nil {
				return rerr
			}
			return err
		},
	}
	src.addFlags(cmd.Flags())
	f.addFlags(cmd.Flags())
	return cmd
}
