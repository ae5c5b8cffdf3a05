package main

import (
	"bytes"
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

type jsonEntry struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Offset     uint32 `json:"offset"`
	Length     uint32 `json:"length"`
	RawLength  uint32 `json:"raw_length"`
	Compressed bool   `json:"compressed"`
}

func toJSONEntries(es []pack.Entry) []jsonEntry {
	out := make([]jsonEntry, 0, len(es))
	for _, e := range es {
		out = append(out, jsonEntry{e.Type.String(), e.ID.String(), e.Offset, e.Length, e.RawLength, e.Compressed})
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
		return g.printJSON(map[string]any{
			"version": 1, "id": c.ID.String(), "chunker_polynomial": fmt.Sprintf("%x", uint64(c.Chunker.Pol)),
			"chunk_min_size": c.Chunker.Min, "chunk_max_size": c.Chunker.Max,
			"chunk_average_size": 1 << c.Chunker.AvgBits, "pack_size": c.PackSize,
		})
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
		return g.printJSON(message.Lock{ID: l.Name, Time: l.Time, Exclusive: l.Exclusive, Hostname: l.Host,
			Username: l.User, PID: l.PID, UID: l.UID, GID: l.GID})
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
		data, err := backend.ReadAll(ctx, r.Backend(), backend.Handle{Type: backend.Pack, Name: name}, 0, 0)
		if err != nil {
			return err
		}
		pr, err := pack.NewReader(bytes.NewReader(data), int64(len(data)), r.Key())
		if err != nil {
			return fmt.Errorf("pack %s: %w", name, err)
		}
		return g.printJSON(map[string]any{"id": name, "size": len(data), "blobs": toJSONEntries(pr.Entries())})
	}
	return catBlob(g, cmd, r, id)
}

func indexJSON(name string, f *index.File) map[string]any {
	sup := []string{}
	for _, id := range f.Supersedes {
		sup = append(sup, id.String())
	}
	packs := []map[string]any{}
	for _, p := range f.Packs {
		packs = append(packs, map[string]any{"id": p.ID.String(), "blobs": toJSONEntries(p.Blobs)})
	}
	return map[string]any{"id": name, "supersedes": sup, "packs": packs}
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
