package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
)

// Opener opens a configured repository by name, holding a shared lock;
// done releases both. The console never sees its password or
// credentials.
type Opener func(ctx context.Context, name string) (r *repo.Repository, done func(), err error)

// open opens the target of the request (?target=NAME).
func (s *Server) open(w http.ResponseWriter, r *http.Request) (*repo.Repository, func(), bool) {
	name := r.URL.Query().Get("target")
	known := false
	for _, t := range s.opts.Targets {
		known = known || t == name
	}
	if !known || s.opts.Open == nil {
		http.Error(w, fmt.Sprintf("no repository %q in the configuration", name), http.StatusNotFound)
		return nil, nil, false
	}
	rp, done, err := s.opts.Open(r.Context(), name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return nil, nil, false
	}
	return rp, done, true
}

// Snapshots is GET /api/snapshots: a target's snapshots, newest first,
// narrowed by ?host=, ?tag= and ?path= (restic's --host, --tag, --path).
type Snapshots struct {
	Target    string             `json:"target"`
	Snapshots []message.Snapshot `json:"snapshots"`
}

func (s *Server) snapshots(w http.ResponseWriter, r *http.Request) (Snapshots, bool) {
	rp, done, ok := s.open(w, r)
	if !ok {
		return Snapshots{}, false
	}
	defer done()
	q := r.URL.Query()
	sel := engine.Selection{}
	if v := q.Get("host"); v != "" {
		sel.Hosts = []string{v}
	}
	if v := q.Get("tag"); v != "" {
		sel.Tags = []string{v}
	}
	if v := q.Get("path"); v != "" {
		sel.Paths = []string{v}
	}
	snaps, err := sel.Snapshots(r.Context(), rp)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return Snapshots{}, false
	}
	out := Snapshots{Target: q.Get("target"), Snapshots: []message.Snapshot{}}
	for i := len(snaps) - 1; i >= 0; i-- {
		out.Snapshots = append(out.Snapshots, engine.SnapshotMessage(snaps[i]))
	}
	return out, true
}

func (s *Server) apiSnapshots(w http.ResponseWriter, r *http.Request) {
	if out, ok := s.snapshots(w, r); ok {
		writeJSON(w, out)
	}
}

func (s *Server) snapshotsPage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("target") == "" && len(s.opts.Targets) > 0 {
		q := r.URL.Query()
		q.Set("target", s.opts.Targets[0])
		r.URL.RawQuery = q.Encode()
	}
	out, ok := s.snapshots(w, r)
	if !ok {
		return
	}
	csrf, _ := r.Context().Value(ctxKey{}).(string)
	q := r.URL.Query()
	s.render(w, "snapshots.html", map[string]any{"S": out, "Targets": s.opts.Targets, "CSRF": csrf,
		"Host": q.Get("host"), "Tag": q.Get("tag"), "Path": q.Get("path")})
}

// Tree is GET /api/tree: the entries of a folder of a snapshot
// (?target, ?snapshot, ?path). Names restore would refuse are left out
// and counted.
type Tree struct {
	Target   string         `json:"target"`
	Snapshot string         `json:"snapshot"`
	Path     string         `json:"path"`
	Entries  []message.Node `json:"entries"`
	Unsafe   int            `json:"unsafe_names_left_out"`
	// The snapshot as people name it: its time, host, paths and short ID.
	Time  time.Time `json:"time"`
	Host  string    `json:"hostname"`
	Paths []string  `json:"paths"`
	Short string    `json:"short_id"`
}

func (s *Server) tree(w http.ResponseWriter, r *http.Request) (Tree, bool) {
	rp, done, ok := s.open(w, r)
	if !ok {
		return Tree{}, false
	}
	defer done()
	q := r.URL.Query()
	snap, err := rp.FindSnapshotRef(r.Context(), q.Get("snapshot"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return Tree{}, false
	}
	p := path.Clean("/" + q.Get("path"))
	n, err := engine.FindNode(r.Context(), rp, snap, p)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return Tree{}, false
	}
	out := Tree{Target: q.Get("target"), Snapshot: snap.ID.String(), Path: p, Entries: []message.Node{},
		Time: snap.Time, Host: snap.Host, Paths: snap.Paths, Short: snap.ID.Short()}
	if n.Type != snapshot.TypeDir {
		http.Error(w, p+" is not a folder", http.StatusBadRequest)
		return Tree{}, false
	}
	t, err := rp.LoadTree(r.Context(), n.Subtree)
	if err != nil {
		http.Error(w, p+": could not read the folder: "+err.Error(), http.StatusBadGateway)
		return Tree{}, false
	}
	for i := range t.Nodes {
		c := &t.Nodes[i]
		if snapshot.ValidName(c.Name) != "" {
			out.Unsafe++
			continue
		}
		out.Entries = append(out.Entries, engine.NodeMessage(path.Join(p, c.Name), c))
	}
	sort.SliceStable(out.Entries, func(i, j int) bool {
		di, dj := out.Entries[i].Type == "dir", out.Entries[j].Type == "dir"
		return di && !dj
	})
	return out, true
}

func (s *Server) apiTree(w http.ResponseWriter, r *http.Request) {
	if out, ok := s.tree(w, r); ok {
		writeJSON(w, out)
	}
}

func (s *Server) browsePage(w http.ResponseWriter, r *http.Request) {
	out, ok := s.tree(w, r)
	if !ok {
		return
	}
	csrf, _ := r.Context().Value(ctxKey{}).(string)
	var crumbs []map[string]string
	acc := ""
	for _, c := range strings.Split(strings.Trim(out.Path, "/"), "/") {
		if c == "" {
			continue
		}
		acc += "/" + c
		crumbs = append(crumbs, map[string]string{"Name": c, "Path": acc})
	}
	s.render(w, "browse.html", map[string]any{"T": out, "Crumbs": crumbs, "CSRF": csrf, "Parent": path.Dir(out.Path)})
}

// download streams a file, or a folder as tar or zip (?format=zip), of
// a snapshot. Archives leave out names restore would refuse.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	rp, done, ok := s.open(w, r)
	if !ok {
		return
	}
	defer done()
	q := r.URL.Query()
	snap, err := rp.FindSnapshotRef(r.Context(), q.Get("snapshot"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	p := path.Clean("/" + q.Get("path"))
	n, err := engine.FindNode(r.Context(), rp, snap, p)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	name := path.Base(p)
	if snapshot.ValidName(name) != "" {
		name = "snapshot-" + snap.ID.Short()
	}
	var werr error
	switch {
	case n.Type == snapshot.TypeFile:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", fmt.Sprint(n.Size))
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
		werr = engine.WriteFile(r.Context(), rp, w, n)
	case n.Type == snapshot.TypeDir && q.Get("format") == "zip":
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name+".zip"))
		werr = engine.WriteZip(r.Context(), rp, w, n, p, func(string, error) {})
	case n.Type == snapshot.TypeDir:
		w.Header().Set("Content-Type", "application/x-tar")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name+".tar"))
		werr = engine.WriteTar(r.Context(), rp, w, n, p, func(string, error) {})
	default:
		http.Error(w, p+" is neither a file nor a folder", http.StatusBadRequest)
		return
	}
	if werr != nil && !errors.Is(werr, context.Canceled) {
		// Headers are sent: cut the stream so the client sees it fail.
		panic(http.ErrAbortHandler)
	}
}
