package main

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/index"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/pack"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
	"github.com/spf13/cobra"
)

func packBlobs(es []pack.Entry) []message.PackBlob {
	out := make([]message.PackBlob, 0, len(es))
	for _, e := range es {
		out = append(out, message.PackBlob{Type: e.Type.String(), ID: e.ID.String(), Offset: e.Offset, Length: e.Length,
			RawLength: e.RawLength, Compressed: e.Compressed})
	}
	return out
}

func newCatCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "cat config|keys|snapshot ID|tree ID[:PATH]|index ID|pack ID|blob ID|lock ID|record ID",
		Short: "Print internal objects, for debugging",
		Long: `Print a decrypted internal object of the repository as JSON (or, for a
blob, its raw plaintext). IDs of files may be abbreviated to a unique prefix;
blob IDs must be given in full.`,
		Example: `  cairn cat config
  cairn cat snapshot latest
  cairn cat tree 3f2a9c1b:/home/ann
  cairn cat lock 1c0ffee0
  cairn cat index 7ab8738c
  cairn cat pack fb1c7168
  cairn cat blob 5e0b...c1 > chunk.bin`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			what := args[0]
			needID := map[string]bool{"index": true, "pack": true, "blob": true, "snapshot": true, "tree": true, "lock": true, "record": true}
			switch {
			case needID[what] && len(args) != 2:
				return fmt.Errorf("cat %s needs an ID", what)
			case !needID[what] && len(args) != 1:
				return fmt.Errorf("cat %s takes no ID", what)
			case !needID[what] && what != "config" && what != "keys":
				return fmt.Errorf("unknown object %q: want config, keys, snapshot, tree, index, pack, blob, lock or record", what)
			}
			r, err := g.openRepo(ctx)
			if err != nil {
				return err
			}
			id := ""
			if len(args) == 2 {
				id = args[1]
			}
			return catObject(ctx, g, cmd, r, what, id)
		},
	}
}

// catObject prints object what (with ID or reference id, "" for config and keys).
func catObject(ctx context.Context, g *globals, cmd *cobra.Command, r *repo.Repository, what, id string) error {
	switch what {
	case "config":
		c := r.Config()
		return g.printJSON(message.RepoConfig{Version: 1, ID: c.ID.String(), ChunkerPolynomial: fmt.Sprintf("%x", uint64(c.Chunker.Pol)),
			ChunkMinSize: c.Chunker.Min, ChunkMaxSize: c.Chunker.Max, ChunkAverageSize: 1 << c.Chunker.AvgBits, PackSize: c.PackSize})
	case "keys":
		keys, err := r.Keys(ctx)
		if err != nil {
			return err
		}
		out := []message.Key{}
		for _, k := range keys {
			out = append(out, keyJSON(k))
		}
		return g.printJSON(out)
	case "snapshot":
		s, err := r.FindSnapshotRef(ctx, id)
		if err != nil {
			return err
		}
		return g.printJSON(snapshotJSON(s))
	case "tree":
		return catTree(g, cmd, r, id)
	case "lock":
		l, err := r.LoadLock(ctx, id)
		if err != nil {
			return err
		}
		state, err := r.LockState(ctx, l)
		if err != nil {
			return err
		}
		return g.printJSON(message.Lock{ID: l.Name, Time: l.Time, Exclusive: l.Exclusive, Hostname: l.Host,
			Username: l.User, PID: l.PID, UID: l.UID, GID: l.GID, Ends: l.Ends, Released: l.Released, State: state})
	case "record":
		rec, err := r.LoadRecord(ctx, id)
		if err != nil {
			return err
		}
		out := message.Record{ID: rec.Name, Kind: int(rec.Kind), Size: len(rec.Payload)}
		if doc, ok := rec.JSON(); ok {
			out.Document = doc
		}
		return g.printJSON(out)
	case "index":
		name, err := r.Find(ctx, backend.Index, id)
		if err != nil {
			return err
		}
		f, err := r.LoadIndexFile(ctx, name)
		if err != nil {
			return err
		}
		return g.printJSON(indexJSON(name, f))
	case "pack":
		name, err := r.Find(ctx, backend.Pack, id)
		if err != nil {
			return err
		}
		size, entries, err := r.PackHeader(ctx, name)
		if err != nil {
			return err
		}
		return g.printJSON(message.Pack{ID: name, Size: size, Blobs: packBlobs(entries)})
	}
	return catBlob(g, cmd, r, id)
}

func indexJSON(name string, f *index.File) message.IndexFile {
	out := message.IndexFile{ID: name, Supersedes: []string{}, Packs: []message.IndexPack{}}
	for _, id := range f.Supersedes {
		out.Supersedes = append(out.Supersedes, id.String())
	}
	for _, p := range f.Packs {
		out.Packs = append(out.Packs, message.IndexPack{ID: p.ID.String(), Blobs: packBlobs(p.Blobs)})
	}
	return out
}

func catBlob(g *globals, cmd *cobra.Command, r *repo.Repository, s string) error {
	id, err := blob.ParseID(strings.ToLower(s))
	if err != nil {
		return err
	}
	for _, t := range []blob.Type{blob.Data, blob.Tree} {
		data, err := r.LoadBlob(cmd.Context(), blob.Handle{Type: t, ID: id})
		if errors.Is(err, repo.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		_, err = g.stdout.Write(data)
		return err
	}
	return fmt.Errorf("blob %s: %w", id.Short(), repo.ErrNotFound)
}

// catTree prints a tree: REF is a tree blob ID, or a snapshot reference
// ("latest" or an ID prefix) with an optional :PATH inside it.
func catTree(g *globals, cmd *cobra.Command, r *repo.Repository, ref string) error {
	ctx := cmd.Context()
	if id, err := blob.ParseID(strings.ToLower(ref)); err == nil && r.HasBlob(blob.Handle{Type: blob.Tree, ID: id}) {
		return printTree(g, cmd, r, id, "/")
	}
	snap, sub, _ := strings.Cut(ref, ":")
	s, err := r.FindSnapshotRef(ctx, snap)
	if err != nil {
		return err
	}
	n, err := engine.FindNode(ctx, r, s, sub)
	if err != nil {
		return err
	}
	if n.Type != snapshot.TypeDir {
		return fmt.Errorf("%s is a %v, not a directory", sub, n.Type)
	}
	return printTree(g, cmd, r, n.Subtree, path.Clean("/"+sub))
}

func printTree(g *globals, cmd *cobra.Command, r *repo.Repository, id blob.ID, dir string) error {
	t, err := snapshot.LoadTree(cmd.Context(), r, id)
	if err != nil {
		return err
	}
	out := message.Tree{ID: id.String(), Nodes: []message.Node{}}
	for i := range t.Nodes {
		n := &t.Nodes[i]
		name := n.Name
		if snapshot.ValidName(name) != "" {
			name = fmt.Sprintf("%q", name) // shown, never cleaned into another path
		}
		out.Nodes = append(out.Nodes, nodeJSON(path.Join(dir, name), n))
	}
	return g.printJSON(out)
}
