package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/index"
	"github.com/cairn-backup/cairn/pack"
	"github.com/cairn-backup/cairn/snapshot"
	"golang.org/x/sync/errgroup"
)

// RepairIndexOptions configure RepairIndex.
type RepairIndexOptions struct {
	DryRun bool
	// ReadData downloads whole packs and leaves blobs that fail
	// verification out of the new index, so that a following backup
	// uploads them again and repair snapshots can drop what they hurt.
	ReadData bool
	// OnPack is told about each pack that cannot be used; calls never
	// overlap.
	OnPack func(name string, err error)
}

// RepairIndexReport says what RepairIndex did or would do.
type RepairIndexReport struct {
	Packs         int // pack files found
	PacksIndexed  int // intact packs in the new index
	Blobs         int // blobs in the new index
	BadBlobs      int // blobs that failed verification: lost
	BadPacks      int // packs with no usable header or index entry, left alone
	SalvagedPacks int // damaged packs whose intact blobs were copied to new packs, then removed
	Salvaged      int // blobs copied out of damaged packs
	OldIndex      int // index files replaced
}

// packScan is what one pack file yields.
type packScan struct {
	entry    index.Pack // for an intact pack
	intact   bool
	salvage  []salvaged // good blobs of a damaged pack (with ReadData)
	bad      int
	unusable error
}

type salvaged struct {
	t    blob.Type
	data []byte
}

// RepairIndex rebuilds the index from the pack files themselves.
//
// Without ReadData it reads each pack's header. With ReadData it reads
// whole packs and verifies every blob: a damaged pack's intact blobs are
// copied into new packs (using the old index where the header itself is
// damaged), its damaged blobs are left out, and the damaged pack file is
// removed once nothing refers to it. Order (design §12): new packs and
// their index, then the new index superseding the old files, then removal
// of the old index files, then removal of the salvaged pack files.
func (r *Repository) RepairIndex(ctx context.Context, opts RepairIndexOptions) (*RepairIndexReport, error) {
	if opts.OnPack == nil {
		opts.OnPack = func(string, error) {}
	}
	var onPackMu sync.Mutex
	onPack := opts.OnPack
	opts.OnPack = func(name string, err error) {
		onPackMu.Lock()
		defer onPackMu.Unlock()
		onPack(name, err)
	}
	oldNames, err := backend.Names(ctx, r.be, backend.Index)
	if err != nil {
		return nil, err
	}
	oldPacks := r.readablePacks(ctx, oldNames)
	var packFiles []backend.FileInfo
	if err := r.be.List(ctx, backend.Pack, func(fi backend.FileInfo) error {
		packFiles = append(packFiles, fi)
		return nil
	}); err != nil {
		return nil, err
	}
	rep := &RepairIndexReport{Packs: len(packFiles), OldIndex: len(oldNames)}
	if !opts.DryRun {
		// Salvaged blobs must not be deduplicated against the old index.
		r.idx, r.indexErrors = index.New(), nil
	}
	var mu sync.Mutex // guards intact, salvagedPacks, rep
	var intact []index.Pack
	var salvagedPacks []string
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Connections)
	for _, fi := range packFiles {
		g.Go(func() error {
			sc := r.scanPack(gctx, fi, opts.ReadData, oldPacks)
			if gctx.Err() != nil {
				return gctx.Err()
			}
			mu.Lock()
			rep.BadBlobs += sc.bad
			switch {
			case sc.unusable != nil:
				rep.BadPacks++
				mu.Unlock()
				opts.OnPack(fi.Name, sc.unusable)
				return nil
			case sc.intact:
				if len(sc.entry.Blobs) > 0 {
					intact = append(intact, sc.entry)
					rep.PacksIndexed++
					rep.Blobs += len(sc.entry.Blobs)
				}
				mu.Unlock()
				if !opts.DryRun {
					r.idx.Add(sc.entry)
				}
				return nil
			}
			rep.SalvagedPacks++
			rep.Salvaged += len(sc.salvage)
			rep.Blobs += len(sc.salvage)
			salvagedPacks = append(salvagedPacks, fi.Name)
			mu.Unlock()
			opts.OnPack(fi.Name, fmt.Errorf("damaged: %d blobs lost, %d intact blobs copied to new packs", sc.bad, len(sc.salvage)))
			if opts.DryRun {
				return nil
			}
			for _, b := range sc.salvage {
				if _, _, err := r.SaveBlob(gctx, b.t, b.data); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if opts.DryRun {
		return rep, nil
	}
	if err := r.Flush(ctx); err != nil {
		return nil, err
	}
	if _, err := r.replaceIndex(ctx, intact, oldNames); err != nil {
		return nil, err
	}
	for _, name := range salvagedPacks {
		if err := r.remove(ctx, backend.Handle{Type: backend.Pack, Name: name}); err != nil {
			return nil, fmt.Errorf("remove damaged pack %s: %w", shortName(name), err)
		}
	}
	r.idx, r.indexErrors = index.New(), nil
	return rep, r.LoadIndex(ctx)
}

// readablePacks returns the packs named by those of the index files that
// can still be read.
func (r *Repository) readablePacks(ctx context.Context, names []string) map[blob.ID]*index.Pack {
	packs := map[blob.ID]*index.Pack{}
	for _, n := range names {
		if f, err := r.LoadIndexFile(ctx, n); err == nil {
			for i := range f.Packs {
				packs[f.Packs[i].ID] = &f.Packs[i]
			}
		}
	}
	return packs
}

// replaceIndex writes index files for packs that supersede oldNames, then
// removes oldNames.
//
// Old index files still retained by an object lock stay: the new index
// supersedes them, so loaders leave them out. It returns how many stayed.
func (r *Repository) replaceIndex(ctx context.Context, packs []index.Pack, oldNames []string) (int, error) {
	supersedes := make([]blob.ID, 0, len(oldNames))
	for _, n := range oldNames {
		if id, err := blob.ParseID(n); err == nil {
			supersedes = append(supersedes, id)
		}
	}
	// Files of at most Options.IndexFileBlobs blobs each; an empty index
	// still gets one file, which supersedes the old ones.
	runs := index.Split(packs, r.opts.IndexFileBlobs)
	if len(runs) == 0 {
		runs = [][]index.Pack{nil}
	}
	for _, run := range runs {
		f := &index.File{Supersedes: supersedes, Packs: run}
		if _, err := r.SaveFile(ctx, backend.Index, crypto.KindIndex, f.Encode()); err != nil {
			return 0, fmt.Errorf("write new index: %w", err)
		}
	}
	locked := 0
	for _, n := range oldNames {
		if err := r.remove(ctx, backend.Handle{Type: backend.Index, Name: n}); errors.Is(err, backend.ErrLocked) {
			locked++
		} else if err != nil {
			return locked, fmt.Errorf("remove old index %s: %w", shortName(n), err)
		}
	}
	return locked, nil
}

// scanPack reads a pack's header (with readData, the whole pack) and says
// whether it is intact, or what can be salvaged from it.
func (r *Repository) scanPack(ctx context.Context, fi backend.FileInfo, readData bool, old map[blob.ID]*index.Pack) packScan {
	id, err := blob.ParseID(fi.Name)
	if err != nil {
		return packScan{unusable: errors.New("pack file name is not a hash")}
	}
	h := backend.Handle{Type: backend.Pack, Name: fi.Name}
	if !readData {
		p, err := r.readPackHeader(ctx, h, fi.Size)
		if err != nil {
			return packScan{unusable: err}
		}
		p.ID = id
		return packScan{entry: p, intact: true}
	}
	data, err := backend.ReadAll(ctx, r.be, h, 0, 0)
	if err != nil {
		return packScan{unusable: err}
	}
	var entries []pack.Entry
	var salt [crypto.PackSaltSize]byte
	pr, herr := pack.NewReader(bytes.NewReader(data), int64(len(data)), r.key)
	switch {
	case herr == nil:
		entries, salt = pr.Entries(), pr.Salt()
	case old[id] != nil:
		entries, salt = old[id].Blobs, old[id].Salt
	default:
		return packScan{unusable: fmt.Errorf("header unreadable and no index names the pack: %w", herr)}
	}
	sc := packScan{entry: index.Pack{ID: id, Salt: salt}}
	for _, e := range entries {
		end := int64(e.Offset) + int64(e.Length)
		if end > int64(len(data)) {
			sc.bad++
			continue
		}
		plain, err := pack.OpenBlob(r.key, salt, e, bytes.Clone(data[e.Offset:end]))
		if err != nil {
			sc.bad++
			continue
		}
		sc.entry.Blobs = append(sc.entry.Blobs, e)
		sc.salvage = append(sc.salvage, salvaged{e.Type, plain})
	}
	sc.intact = herr == nil && sc.bad == 0 && crypto.Hash(data) == id
	if sc.intact {
		sc.salvage = nil
	}
	return sc
}

// readPackHeader reads only a pack's trailer and header.
func (r *Repository) readPackHeader(ctx context.Context, h backend.Handle, size int64) (index.Pack, error) {
	if size < pack.TrailerSize {
		return index.Pack{}, fmt.Errorf("pack of %d bytes: %w", size, pack.ErrFormat)
	}
	tr, err := backend.ReadAll(ctx, r.be, h, size-pack.TrailerSize, pack.TrailerSize)
	if err != nil {
		return index.Pack{}, err
	}
	_, hdrLen, err := pack.ParseTrailer(tr)
	if err != nil {
		return index.Pack{}, err
	}
	if int64(hdrLen) > size-pack.TrailerSize {
		return index.Pack{}, fmt.Errorf("header length %d: %w", hdrLen, pack.ErrFormat)
	}
	tail, err := backend.ReadAll(ctx, r.be, h, size-pack.TrailerSize-int64(hdrLen), int64(hdrLen)+pack.TrailerSize)
	if err != nil {
		return index.Pack{}, err
	}
	// Present the tail at its real offset; blob bytes are never read.
	pr, err := pack.NewReader(&tailReader{tail: tail, off: size - int64(len(tail))}, size, r.key)
	if err != nil {
		return index.Pack{}, err
	}
	return index.Pack{Salt: pr.Salt(), Blobs: pr.Entries()}, nil
}

// tailReader serves reads from the end of a file it holds only the tail of.
type tailReader struct {
	tail []byte
	off  int64
}

// ReadAt reads from the tail; reads before it fail.
func (t *tailReader) ReadAt(p []byte, off int64) (int, error) {
	if off < t.off || off-t.off > int64(len(t.tail)) {
		return 0, errors.New("read outside the pack tail")
	}
	n := copy(p, t.tail[off-t.off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// RepairSnapshotsOptions configure RepairSnapshots.
type RepairSnapshotsOptions struct {
	DryRun bool
	Forget bool // remove the original of every repaired snapshot
	// OnRemoved is told about each file or directory left out.
	OnRemoved func(s *snapshot.Snapshot, path, why string)
	// OnPurge is told how many blobs the purge record of Forget names
	// (the data and trees left out, and the trees replaced), once it is
	// stored.
	OnPurge func(blobs int)
}

// RepairSnapshots writes, for every snapshot that uses blobs the index no
// longer has (or trees that cannot be read), a new snapshot without the
// files and directories they hurt, tagged "repaired". It returns the
// repaired snapshots (new IDs; with DryRun, unsaved).
func (r *Repository) RepairSnapshots(ctx context.Context, snaps []*snapshot.Snapshot, opts RepairSnapshotsOptions) ([]*snapshot.Snapshot, error) {
	rw := &rewriter{r: r, dryRun: opts.DryRun, forget: opts.Forget, tag: "repaired", onRemoved: opts.OnRemoved,
		drop: func(p string, n *snapshot.Node) string {
			if n.Type == snapshot.TypeFile && missingData(r, n.Content) {
				return "file data is lost"
			}
			return ""
		},
		unreadable: func(string, error) bool { return true }}
	return rw.run(ctx, snaps, func(*snapshot.Snapshot, *snapshot.Snapshot) bool { return false })
}

// RewriteOptions configure RewriteSnapshots.
type RewriteOptions struct {
	DryRun bool
	Forget bool // remove the original of every rewritten snapshot
	// Exclude says whether to leave out the entry n at absolute path p
	// (a directory with everything below it).
	Exclude func(p string, n *snapshot.Node) bool
	// Summary gives every selected snapshot a summary whose totals (files
	// and bytes processed) describe its tree, rewriting those whose
	// summary was missing or different (restic's --snapshot-summary).
	// Without it, a snapshot that loses files has its totals adjusted.
	Summary bool
	// Host and Time, when set, replace the snapshot's host and time.
	Host string
	Time time.Time
	// OnRemoved is told about each file or directory left out.
	OnRemoved func(s *snapshot.Snapshot, path, why string)
	// OnPurge is told how many blobs the purge record of Forget names
	// (the data and trees left out, and the trees replaced), once it is
	// stored.
	OnPurge func(blobs int)
}

// RewriteSnapshots writes, for every snapshot of snaps that opts change, a
// new snapshot tagged "rewrite" that names the original, and with Forget
// removes the original. A tree that cannot be read stops it: run "repair
// snapshots" first. It returns the new snapshots (with DryRun, unsaved).
func (r *Repository) RewriteSnapshots(ctx context.Context, snaps []*snapshot.Snapshot, opts RewriteOptions) ([]*snapshot.Snapshot, error) {
	rw := &rewriter{r: r, dryRun: opts.DryRun, forget: opts.Forget, tag: "rewrite", onRemoved: opts.OnRemoved,
		purge: purgeSet(opts.Forget && !opts.DryRun), onPurge: opts.OnPurge,
		byPath: opts.Exclude != nil, summary: opts.Summary,
		drop: func(p string, n *snapshot.Node) string {
			if opts.Exclude != nil && opts.Exclude(p, n) {
				return "excluded"
			}
			return ""
		},
		unreadable: func(string, error) bool { return false }}
	return rw.run(ctx, snaps, func(old, ns *snapshot.Snapshot) bool {
		changed := false
		if opts.Host != "" && ns.Host != opts.Host {
			ns.Host, changed = opts.Host, true
		}
		if !opts.Time.IsZero() && !ns.Time.Equal(opts.Time) {
			ns.Time, changed = opts.Time, true
		}
		return changed
	})
}

func purgeSet(on bool) map[blob.Handle]bool {
	if !on {
		return nil
	}
	return map[blob.Handle]bool{}
}

// totals are the files and file bytes below a tree.
type totals struct{ files, bytes uint64 }

type rewritten struct {
	id      blob.ID
	changed bool
	totals
}

// rewriter writes new trees without the entries drop names.
type rewriter struct {
	r         *Repository
	dryRun    bool
	forget    bool
	tag       string
	summary   bool
	byPath    bool                                    // drop depends on the path: results are cached per path
	drop      func(p string, n *snapshot.Node) string // why to leave n out, "" to keep it
	onRemoved func(s *snapshot.Snapshot, path, why string)
	// unreadable says whether a tree that cannot be read becomes an empty
	// directory (true) or stops the rewrite.
	unreadable func(dir string, err error) bool
	snap       *snapshot.Snapshot
	done       map[string]rewritten // trees already rewritten, by ID (and path when byPath)
	// purge collects the blobs left out and the trees replaced, for the
	// purge record of rewrite --forget (nil: none is written).
	purge   map[blob.Handle]bool
	onPurge func(blobs int)
}

// run rewrites every snapshot; meta may change the new snapshot's
// metadata and reports whether it did.
func (rw *rewriter) run(ctx context.Context, snaps []*snapshot.Snapshot, meta func(old, ns *snapshot.Snapshot) bool) ([]*snapshot.Snapshot, error) {
	if rw.onRemoved == nil {
		rw.onRemoved = func(*snapshot.Snapshot, string, string) {}
	}
	rw.done = map[string]rewritten{}
	var out []*snapshot.Snapshot
	for _, s := range snaps {
		rw.snap = s
		res, err := rw.tree(ctx, s.Tree, "/")
		if err != nil {
			return out, err
		}
		ns := *s
		ns.Tree = res.id
		changed := meta(s, &ns) || res.changed
		if res.changed || rw.summary {
			sum := snapshot.Summary{}
			if s.Summary != nil {
				sum = *s.Summary
			}
			if sum.TotalFilesProcessed != res.files || sum.TotalBytesProcessed != res.bytes || s.Summary == nil {
				sum.TotalFilesProcessed, sum.TotalBytesProcessed = res.files, res.bytes
				ns.Summary, changed = &sum, true
			}
		}
		if !changed {
			continue
		}
		ns.Original = s.ID
		if !ns.HasTag(rw.tag) {
			ns.Tags = append(append([]string(nil), s.Tags...), rw.tag)
		}
		out = append(out, &ns)
		if rw.dryRun {
			continue
		}
		if err := rw.r.Flush(ctx); err != nil {
			return out, err
		}
		if err := rw.r.SaveSnapshot(ctx, &ns); err != nil {
			return out, err
		}
	}
	if rw.dryRun || !rw.forget {
		return out, nil
	}
	// The purge record is stored before any original goes: a rewrite
	// killed in between leaves both snapshots and the record, and the
	// record keeps naming the blobs until no snapshot uses them.
	if len(rw.purge) > 0 {
		hs := make([]blob.Handle, 0, len(rw.purge))
		for h := range rw.purge {
			hs = append(hs, h)
		}
		if _, err := rw.r.SavePurge(ctx, hs); err != nil {
			return out, err
		}
		if rw.onPurge != nil {
			rw.onPurge(len(hs))
		}
	}
	for _, ns := range out {
		if err := rw.r.RemoveSnapshot(ctx, ns.Original); err != nil {
			return out, err
		}
	}
	return out, nil
}

// dropped notes the blobs of an entry the rewrite leaves out (a file's
// data, a directory's trees and everything below them) for the purge
// record, when there is one.
func (rw *rewriter) dropped(ctx context.Context, n *snapshot.Node) error {
	if rw.purge == nil {
		return nil
	}
	for _, id := range n.Content {
		rw.purge[blob.Handle{Type: blob.Data, ID: id}] = true
	}
	if n.Type != snapshot.TypeDir || n.Subtree.IsZero() {
		return nil
	}
	h := blob.Handle{Type: blob.Tree, ID: n.Subtree}
	if rw.purge[h] {
		return nil // walked already
	}
	rw.purge[h] = true
	t, err := rw.r.LoadTree(ctx, n.Subtree)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return nil // what cannot be read cannot be named; prune's usual rules apply to it
	}
	for i := range t.Nodes {
		if err := rw.dropped(ctx, &t.Nodes[i]); err != nil {
			return err
		}
	}
	return nil
}

// tree returns the rewritten version of tree id at dir, whether it
// changed, and the totals of what it keeps.
func (rw *rewriter) tree(ctx context.Context, id blob.ID, dir string) (rewritten, error) {
	key := id.String()
	if rw.byPath {
		key += dir
	}
	if d, ok := rw.done[key]; ok && !d.changed {
		return d, nil // changed trees are walked again, so every snapshot reports what it loses
	}
	t, err := rw.r.LoadTree(ctx, id)
	if err != nil {
		if ctx.Err() != nil {
			return rewritten{}, ctx.Err()
		}
		if !rw.unreadable(dir, err) {
			return rewritten{}, fmt.Errorf("snapshot %s: directory %s cannot be read (%w); run \"cairn repair snapshots\" first", rw.snap.ID.Short(), dir, err)
		}
		rw.onRemoved(rw.snap, dir, "directory cannot be read; replaced by an empty one")
		nid, err := rw.save(ctx, &snapshot.Tree{})
		return rewritten{id: nid, changed: true}, err
	}
	out := &snapshot.Tree{}
	res := rewritten{}
	for _, n := range t.Nodes {
		p := dir + n.Name
		if dir != "/" {
			p = dir + "/" + n.Name
		}
		if why := rw.drop(p, &n); why != "" {
			rw.onRemoved(rw.snap, p, why)
			res.changed = true
			if err := rw.dropped(ctx, &n); err != nil {
				return rewritten{}, err
			}
			continue
		}
		switch n.Type {
		case snapshot.TypeFile:
			res.files++
			res.bytes += n.Size
		case snapshot.TypeDir:
			sub, err := rw.tree(ctx, n.Subtree, p)
			if err != nil {
				return rewritten{}, err
			}
			res.files += sub.files
			res.bytes += sub.bytes
			if sub.changed {
				n.Subtree, res.changed = sub.id, true
			}
		}
		out.Nodes = append(out.Nodes, n)
	}
	res.id = id
	if res.changed {
		if rw.purge != nil {
			rw.purge[blob.Handle{Type: blob.Tree, ID: id}] = true // it names what was left out
		}
		if res.id, err = rw.save(ctx, out); err != nil {
			return rewritten{}, err
		}
	}
	rw.done[key] = res
	return res, nil
}

func missingData(r *Repository, content []blob.ID) bool {
	for _, id := range content {
		if !r.HasBlob(blob.Handle{Type: blob.Data, ID: id}) {
			return true
		}
	}
	return false
}

func (rw *rewriter) save(ctx context.Context, t *snapshot.Tree) (blob.ID, error) {
	data := t.Encode()
	if rw.dryRun {
		return rw.r.BlobID(data), nil
	}
	id, _, err := rw.r.SaveBlob(ctx, blob.Tree, data)
	return id, err
}

// ReconcileReport says what ReconcilePacks found.
type ReconcileReport struct {
	Missing    []string // packs the index names that the storage lacks
	Adopted    int      // packs no index named whose headers were read and indexed
	AdoptedErr []error  // unindexed packs whose headers could not be read
}

// ReconcilePacks makes the in-memory index agree with the pack files in
// storage before a backup. It drops packs that are gone, so their blobs
// are uploaded again, and it adopts packs that no index file names, left
// by a command killed before it could write its index (kill -9, power
// loss): it reads their headers, as "repair index" does, adds their blobs
// to the index and indexes them with this command's next index file, so
// a killed backup's data is reused instead of uploaded again. It needs a
// lock: under it no prune runs, so an adopted pack stays.
func (r *Repository) ReconcilePacks(ctx context.Context) (*ReconcileReport, error) {
	present, err := r.listPackSizes(ctx)
	if err != nil {
		return nil, err
	}
	rep := &ReconcileReport{}
	missing := map[blob.ID]bool{}
	indexed := r.idx.PackIDs()
	for id := range indexed {
		if _, ok := present[id]; !ok {
			missing[id] = true
			rep.Missing = append(rep.Missing, id.String())
		}
	}
	r.idx.RemovePacks(missing)
	var orphans []backend.FileInfo
	for id, size := range present {
		if _, ok := indexed[id]; !ok {
			orphans = append(orphans, backend.FileInfo{Name: id.String(), Size: size})
		}
	}
	if len(orphans) == 0 {
		return rep, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Connections)
	var mu sync.Mutex
	for _, fi := range orphans {
		g.Go(func() error {
			p, err := r.readPackHeader(gctx, backend.Handle{Type: backend.Pack, Name: fi.Name}, fi.Size)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				rep.AdoptedErr = append(rep.AdoptedErr, fmt.Errorf("pack %s: %w", shortName(fi.Name), err))
				return nil
			}
			p.ID, _ = blob.ParseID(fi.Name)
			r.idx.Add(p)
			r.mu.Lock()
			r.written = append(r.written, p)
			r.writtenBlobs += len(p.Blobs)
			r.mu.Unlock()
			rep.Adopted++
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return rep, nil
}

// PackHeader reads the pack file name (in full) and returns its size and
// the entries of its header, decrypted and checked.
func (r *Repository) PackHeader(ctx context.Context, name string) (int64, []pack.Entry, error) {
	data, err := backend.ReadAll(ctx, r.be, backend.Handle{Type: backend.Pack, Name: name}, 0, 0)
	if err != nil {
		return 0, nil, err
	}
	pr, err := pack.NewReader(bytes.NewReader(data), int64(len(data)), r.key)
	if err != nil {
		return 0, nil, fmt.Errorf("pack %s: %w", name, err)
	}
	return int64(len(data)), pr.Entries(), nil
}
