package repo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/index"
	"github.com/cairn-backup/cairn/pack"
	"github.com/cairn-backup/cairn/snapshot"
	"golang.org/x/sync/errgroup"
)

// PruneOptions configure Prune.
type PruneOptions struct {
	// MaxUnused is the share of a pack (percent) that may be unused before
	// the pack is repacked: 0 repacks every pack holding any unused blob,
	// 100 repacks none (see ParseMaxUnused).
	MaxUnused float64
	// MaxRepackBytes bounds the size of packs repacked in one run; 0 means
	// no bound.
	MaxRepackBytes uint64
	DryRun         bool
	// RepackSmall also repacks packs smaller than 80% of the target pack
	// size, when a type has at least two (every backup leaves a partly
	// filled pack; repacking them together makes fewer, fuller packs).
	RepackSmall bool
	// RepackUncompressed also repacks packs holding used blobs stored
	// uncompressed (written with --compression off), compressing them.
	// Blobs that do not shrink stay uncompressed and are repacked again
	// by the next prune with this option: it is meant to be run once,
	// after turning compression on.
	RepackUncompressed bool
}

// ParseMaxUnused parses prune's --max-unused as restic takes it: a
// percentage from 0% to 100%, a bare 0, or "unlimited" (never repack for
// unused space; packs with no used blob are still deleted).
func ParseMaxUnused(s string) (float64, error) {
	switch s {
	case "unlimited":
		return 100, nil
	case "0":
		return 0, nil
	}
	p, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || !strings.HasSuffix(s, "%") || p < 0 || p > 100 {
		return 0, fmt.Errorf("--max-unused %q: want a percentage from 0%% to 100%%, 0 or unlimited", s)
	}
	return p, nil
}

// PruneReport says what Prune did, or would do.
type PruneReport struct {
	Packs             int    // indexed packs before
	PacksDeleted      int    // packs holding nothing used
	PacksRepacked     int    // packs whose used blobs were copied, then deleted
	UnindexedDeleted  int    // pack files no index named (left by interrupted commands)
	PacksWritten      int    // new packs holding repacked blobs
	BlobsUsed         int    // blobs reachable from snapshots
	BlobsUnused       int    // blobs (or extra copies) no snapshot reaches
	BlobsRepacked     int    // used blobs copied into new packs
	BytesTotal        uint64 // pack bytes before
	BytesUnused       uint64 // sealed bytes of blobs no snapshot uses
	BytesDeleted      uint64 // pack bytes deleted
	BytesWritten      uint64 // pack bytes written by repacking
	BytesUnusedRemain uint64 // unused bytes left in kept packs
	IndexFilesOld     int
	// The plan as restic prints it: blobs and bytes copied into new packs
	// ("to repack"), unused ones they drop ("this removes"), blobs of
	// packs deleted whole ("to delete"), and the packs by use.
	RepackBlobs, RepackRemovedBlobs, DeleteBlobs int
	RepackBytes, RepackRemovedBytes, DeleteBytes uint64
	PacksFullyUsed, PacksPartlyUsed, PacksUnused int
	PacksKept                                    int
	BytesKept                                    uint64 // pack bytes of kept packs
	BlobBytes                                    uint64 // sealed bytes of every indexed blob before
	// Object lock: files prune left because their retention has not run
	// out (deleted by a later prune), the earliest time one of them can
	// go, and the files in use whose retention prune extended.
	LockedKept     int
	LockedUntil    time.Time
	RetainExtended int
	// Purge records (rewrite --forget): the blobs they name that no
	// snapshot uses, removed from every pack whatever MaxUnused says; the
	// named blobs a snapshot still uses (the same content elsewhere),
	// which stay; and the packs repacked only for them.
	PurgeBlobs, PurgeStillUsed, PurgePacks int
	// What was really done, for a prune that stopped early: the stage it
	// reached ("plan", "repack", "index", "delete", "done") and the pack
	// files it deleted.
	Stage         string
	FilesRemoved  int
	FilesToRemove int
}

// ErrNeedsRepair is returned when prune finds the repository damaged.
var ErrNeedsRepair = errors.New("the repository is damaged; prune will not run")

type prunePack struct {
	ip          *index.Pack
	size        int64
	usedBytes   uint64
	unusedBytes uint64 // sealed bytes of blobs no snapshot needs from this pack
	usedBlobs   int
	keep        []pack.Entry // blobs this pack holds the chosen copy of
	purge       bool         // holds an unused blob a purge record names
}

// unusedShare is the share of the pack's blob bytes that is unused; header
// and trailer do not count, so a small pack is not repacked for its size.
func (p *prunePack) unusedShare() float64 {
	total := p.usedBytes + p.unusedBytes
	if total == 0 {
		return 1
	}
	return float64(p.unusedBytes) / float64(total)
}

// prunePlan is what Prune decided before changing anything.
type prunePlan struct {
	lockedIndex int                    // old index files that could not be removed (retained)
	oldNames    []string               // index files to replace
	packs       map[blob.ID]*prunePack // every indexed pack
	ids         []blob.ID              // the packs' names, sorted
	del         []*prunePack           // packs holding nothing used
	repack      []*prunePack           // packs to copy used blobs out of
	unindexed   []string               // pack files no index names
	purge       map[blob.Handle]bool   // blobs purge records name
	purgeRecs   []purgeRecord          // the purge records
	rep         *PruneReport
}

// Prune deletes what no snapshot uses: mark every blob reachable from a
// snapshot, delete packs holding none, repack packs whose unused share
// exceeds MaxUnused, write the new index, remove the old index files, and
// only then delete packs (design §12). Killed at any instant, it loses
// nothing a snapshot references. It needs an exclusive lock.
func (r *Repository) Prune(ctx context.Context, opts PruneOptions) (*PruneReport, error) {
	r.mu.Lock()
	l := r.lock
	r.mu.Unlock()
	if l == nil || !l.Info().Exclusive {
		return nil, errors.New("prune needs an exclusive lock")
	}
	if !opts.DryRun {
		if err := r.CanDelete(ctx); err != nil {
			return nil, fmt.Errorf("prune will not start: %w", err)
		}
	}
	if opts.RepackUncompressed && r.opts.Compression == pack.CompressionOff {
		return nil, errors.New("repacking uncompressed blobs with compression off would store them uncompressed again")
	}
	plan, err := r.planPrune(ctx, opts)
	if err != nil || opts.DryRun {
		return planReport(plan), err
	}
	plan.rep.Stage = "plan"
	return plan.rep, r.executePrune(ctx, plan)
}

func planReport(p *prunePlan) *PruneReport {
	if p == nil {
		return nil
	}
	return p.rep
}

// listPackSizes returns the size of every pack file in storage.
func (r *Repository) listPackSizes(ctx context.Context) (map[blob.ID]int64, error) {
	files := map[blob.ID]int64{}
	err := r.be.List(ctx, backend.Pack, func(fi backend.FileInfo) error {
		if id, err := blob.ParseID(fi.Name); err == nil {
			files[id] = fi.Size
		}
		return nil
	})
	return files, err
}

// planPrune marks used blobs and decides which packs to delete and repack.
func (r *Repository) planPrune(ctx context.Context, opts PruneOptions) (*prunePlan, error) {
	oldNames, packs, err := r.pruneLoadIndex(ctx)
	if err != nil {
		return nil, err
	}
	files, err := r.listPackSizes(ctx)
	if err != nil {
		return nil, err
	}
	plan := &prunePlan{oldNames: oldNames, packs: packs, rep: &PruneReport{Packs: len(packs), IndexFilesOld: len(oldNames)}}
	rep := plan.rep
	for id, p := range packs {
		size, ok := files[id]
		if !ok {
			return nil, fmt.Errorf("%w: pack %s named by the index is missing; run \"cairn check\" and \"cairn repair index\"", ErrNeedsRepair, shortName(id.String()))
		}
		p.size = size
		rep.BytesTotal += uint64(size)
		plan.ids = append(plan.ids, id)
	}
	sort.Slice(plan.ids, func(i, j int) bool { return plan.ids[i].String() < plan.ids[j].String() })
	used, err := r.markUsed(ctx)
	if err != nil {
		return nil, err
	}
	rep.BlobsUsed = len(used)
	if plan.purgeRecs, err = r.purgeRecords(ctx); err != nil {
		return nil, err
	}
	plan.purge = map[blob.Handle]bool{}
	for _, rec := range plan.purgeRecs {
		for _, h := range rec.blobs {
			plan.purge[h] = true
		}
	}
	for h := range plan.purge {
		if _, ok := used[h]; ok {
			rep.PurgeStillUsed++
		}
	}
	if err := plan.chooseCopies(used); err != nil {
		return nil, err
	}
	plan.classify(opts, func(t blob.Type) int64 { return int64(r.packTarget(t)) * 8 / 10 })
	for id, size := range files {
		if _, ok := packs[id]; !ok {
			plan.unindexed = append(plan.unindexed, id.String())
			rep.BytesDeleted += uint64(size)
		}
	}
	sort.Strings(plan.unindexed)
	rep.UnindexedDeleted, rep.PacksDeleted, rep.PacksRepacked = len(plan.unindexed), len(plan.del), len(plan.repack)
	for _, p := range plan.gone() {
		rep.BytesDeleted += uint64(p.size)
	}
	for _, p := range plan.repack {
		rep.BlobsRepacked += len(p.keep)
		rep.BytesWritten += p.usedBytes
	}
	return plan, nil
}

// chooseCopies keeps one copy of every used blob: the first pack, in name
// order, that holds it. used[h] turns false once a copy is chosen.
func (plan *prunePlan) chooseCopies(used map[blob.Handle]bool) error {
	purged := map[blob.Handle]bool{}
	defer func() { plan.rep.PurgeBlobs = len(purged) }()
	for _, id := range plan.ids {
		p := plan.packs[id]
		for _, e := range p.ip.Blobs {
			h := e.Handle()
			if used[h] {
				used[h] = false
				p.keep = append(p.keep, e)
				p.usedBlobs++
				p.usedBytes += uint64(e.Length)
			} else {
				plan.rep.BlobsUnused++
				p.unusedBytes += uint64(e.Length)
				if plan.purge[h] {
					p.purge = true
					purged[h] = true
				}
			}
		}
	}
	for h, unchosen := range used {
		if unchosen {
			return fmt.Errorf("%w: blob %v is used by a snapshot but not indexed; run \"cairn check\"", ErrNeedsRepair, h)
		}
	}
	return nil
}

// classify sorts packs into deleted, repacked (most unused first, within
// the size budget) and kept.
func (plan *prunePlan) classify(opts PruneOptions, small func(blob.Type) int64) {
	rep := plan.rep
	var candidates []*prunePack
	smallOf := map[blob.Type][]*prunePack{}
	for _, id := range plan.ids {
		p := plan.packs[id]
		rep.BytesUnused += p.unusedBytes
		switch {
		case p.usedBlobs == 0:
			plan.del = append(plan.del, p)
		case p.purge:
			// Removed on purpose: no share or size budget keeps it.
			plan.repack = append(plan.repack, p)
			if 100*p.unusedShare() <= opts.MaxUnused {
				rep.PurgePacks++
			}
		case 100*p.unusedShare() > opts.MaxUnused:
			candidates = append(candidates, p)
		case opts.RepackUncompressed && p.holdsUncompressed():
			candidates = append(candidates, p)
		case opts.RepackSmall && len(p.ip.Blobs) > 0 && p.size < small(p.ip.Blobs[0].Type):
			t := p.ip.Blobs[0].Type
			smallOf[t] = append(smallOf[t], p)
		default:
			rep.BytesUnusedRemain += p.unusedBytes
		}
	}
	sort.SliceStable(candidates, func(i, j int) bool { return candidates[i].unusedShare() > candidates[j].unusedShare() })
	for _, t := range []blob.Type{blob.Data, blob.Tree} {
		if len(smallOf[t]) >= 2 { // one small pack alone would only be rewritten as one
			candidates = append(candidates, smallOf[t]...)
		} else {
			for _, p := range smallOf[t] {
				rep.BytesUnusedRemain += p.unusedBytes
			}
		}
	}
	var budget uint64
	for _, p := range plan.repack {
		budget += uint64(p.size)
	}
	for _, p := range candidates {
		if opts.MaxRepackBytes > 0 && budget+uint64(p.size) > opts.MaxRepackBytes {
			rep.BytesUnusedRemain += p.unusedBytes
			continue
		}
		budget += uint64(p.size)
		plan.repack = append(plan.repack, p)
	}
	plan.figures()
}

// figures fills in the plan's figures as restic prints them.
func (plan *prunePlan) figures() {
	rep := plan.rep
	gone := map[*prunePack]bool{}
	for _, p := range plan.del {
		gone[p] = true
		rep.DeleteBlobs += len(p.ip.Blobs)
		rep.DeleteBytes += p.unusedBytes + p.usedBytes
	}
	for _, p := range plan.repack {
		gone[p] = true
		rep.RepackBlobs += p.usedBlobs
		rep.RepackBytes += p.usedBytes
		rep.RepackRemovedBlobs += len(p.ip.Blobs) - p.usedBlobs
		rep.RepackRemovedBytes += p.unusedBytes
	}
	for _, id := range plan.ids {
		p := plan.packs[id]
		rep.BlobBytes += p.usedBytes + p.unusedBytes
		switch {
		case p.usedBlobs == 0:
			rep.PacksUnused++
		case p.usedBlobs == len(p.ip.Blobs):
			rep.PacksFullyUsed++
		default:
			rep.PacksPartlyUsed++
		}
		if !gone[p] {
			rep.PacksKept++
			rep.BytesKept += uint64(p.size)
		}
	}
}

// holdsUncompressed reports whether a used blob of the pack of at least
// 1 KiB is stored uncompressed. Smaller blobs are left alone: a zstd frame
// seldom makes them smaller, and they would be repacked on every run.
func (p *prunePack) holdsUncompressed() bool {
	for _, e := range p.keep {
		if !e.Compressed && e.RawLength >= 1<<10 {
			return true
		}
	}
	return false
}

// gone returns the packs to delete: unused and repacked ones.
func (plan *prunePlan) gone() []*prunePack {
	return append(append([]*prunePack(nil), plan.del...), plan.repack...)
}

// executePrune repacks, replaces the index, then deletes packs.
func (r *Repository) executePrune(ctx context.Context, plan *prunePlan) error {
	plan.rep.Stage = "repack"
	if err := r.repack(ctx, plan.repack, plan.rep); err != nil {
		return err
	}
	plan.rep.Stage = "index"
	gone := map[blob.ID]bool{}
	for _, p := range plan.gone() {
		gone[p.ip.ID] = true
	}
	var kept []index.Pack
	for _, id := range plan.ids {
		if !gone[id] {
			kept = append(kept, *plan.packs[id].ip)
		}
	}
	// The new index names the kept packs; the packs written by repacking
	// are named by the index file Flush wrote. Only after the old index
	// files are gone are packs deleted.
	locked, err := r.replaceIndex(ctx, kept, plan.oldNames)
	if err != nil {
		return err
	}
	plan.lockedIndex = locked
	names := append([]string(nil), plan.unindexed...)
	for id := range gone {
		names = append(names, id.String())
	}
	plan.rep.Stage, plan.rep.FilesToRemove = "delete", len(names)
	if plan.lockedIndex > 0 {
		// An old index file is still retained: its packs stay until it
		// can go, so that no index ever names a missing pack.
		for _, name := range names {
			r.lockedKept(ctx, plan.rep, backend.Handle{Type: backend.Pack, Name: name})
		}
		names = nil
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		h := backend.Handle{Type: backend.Pack, Name: name}
		if err := r.remove(ctx, h); errors.Is(err, backend.ErrLocked) {
			r.lockedKept(ctx, plan.rep, h)
			continue
		} else if err != nil {
			return fmt.Errorf("delete pack: %w", err)
		}
		plan.rep.FilesRemoved++
	}
	r.idx, r.indexErrors = index.New(), nil
	if err := r.LoadIndex(ctx); err != nil {
		return err
	}
	if err := r.removePurged(ctx, plan.rep, plan.purgeRecs); err != nil {
		return err
	}
	if r.cfg.Lock.Enabled() {
		if err := r.removeForgotten(ctx, plan.rep); err != nil {
			return err
		}
		plan.rep.Stage = "retain"
		n, err := r.ExtendRetention(ctx)
		plan.rep.RetainExtended = n
		if err != nil {
			return err
		}
	}
	plan.rep.Stage = "done"
	return nil
}

// recordOf reports whether name is a forgotten-snapshots record.
func recordOf(gone map[blob.ID]string, name string) (string, bool) {
	for _, rec := range gone {
		if rec == name {
			return rec, true
		}
	}
	return "", false
}

// removeForgotten deletes the files of forgotten snapshots whose
// retention has run out, then the forgotten-snapshots records whose
// snapshots are all gone.
func (r *Repository) removeForgotten(ctx context.Context, rep *PruneReport) error {
	gone, err := r.forgotten(ctx)
	if err != nil || len(gone) == 0 {
		return err
	}
	left := map[string]bool{}
	for id, rec := range gone {
		h := backend.Handle{Type: backend.Snapshot, Name: id.String()}
		err := r.remove(ctx, h)
		switch {
		case err == nil || errors.Is(err, backend.ErrNotExist):
		case errors.Is(err, backend.ErrLocked):
			r.lockedKept(ctx, rep, h)
			left[rec] = true
		default:
			return fmt.Errorf("delete forgotten snapshot: %w", err)
		}
	}
	done := map[string]bool{}
	for _, rec := range gone {
		if left[rec] || done[rec] {
			continue
		}
		done[rec] = true
		h := backend.Handle{Type: backend.Record, Name: rec}
		if err := r.remove(ctx, h); errors.Is(err, backend.ErrLocked) {
			r.lockedKept(ctx, rep, h)
		} else if err != nil && !errors.Is(err, backend.ErrNotExist) {
			return fmt.Errorf("delete forgotten-snapshots record: %w", err)
		}
	}
	return nil
}

// lockedKept records a file prune could not delete because its retention
// has not run out.
func (r *Repository) lockedKept(ctx context.Context, rep *PruneReport, h backend.Handle) {
	rep.LockedKept++
	if rt := backend.FindRetainer(r.be); rt != nil {
		if ret, err := rt.Retention(ctx, h); err == nil && !ret.Until.IsZero() && (rep.LockedUntil.IsZero() || ret.Until.Before(rep.LockedUntil)) {
			rep.LockedUntil = ret.Until
		}
	}
}

// filesInUse lists the files an object lock must keep retained: the
// config, keys, index files (not superseded ones), snapshots (not
// forgotten ones), records (a forgotten-snapshots record only while a
// snapshot file it names remains) and the packs the index names.
func (r *Repository) filesInUse(ctx context.Context) ([]backend.Handle, error) {
	gone, err := r.forgotten(ctx)
	if err != nil {
		return nil, err
	}
	snapFiles := map[string]bool{}
	handles := []backend.Handle{{Type: backend.Config}}
	for _, t := range []backend.FileType{backend.Key, backend.Index, backend.Snapshot, backend.Record} {
		names, err := backend.Names(ctx, r.be, t)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			id, _ := blob.ParseID(n)
			switch {
			case t == backend.Index && r.superseded(n):
				continue // replaced: left to lapse, then prune removes it
			case t == backend.Snapshot:
				snapFiles[n] = true
				if gone[id] != "" {
					continue // forgotten: left to lapse
				}
			case t == backend.Record:
				continue // below
			}
			handles = append(handles, backend.Handle{Type: t, Name: n})
		}
	}
	// Records other than forgotten-snapshot records are kept (drills,
	// gates, verification state); a forgotten-snapshots record is kept
	// while a snapshot file it names remains.
	records, err := backend.Names(ctx, r.be, backend.Record)
	if err != nil {
		return nil, err
	}
	needed := map[string]bool{}
	for id, rec := range gone {
		if snapFiles[id.String()] {
			needed[rec] = true
		}
	}
	for _, n := range records {
		if _, isForgotten := recordOf(gone, n); !isForgotten || needed[n] {
			handles = append(handles, backend.Handle{Type: backend.Record, Name: n})
		}
	}
	for id := range r.idx.PackIDs() {
		handles = append(handles, backend.Handle{Type: backend.Pack, Name: id.String()})
	}
	return handles, nil
}

// ExtendRetention extends, to a full lock period from now, the retention
// of every file the repository still uses (config, keys, index files,
// snapshots, records and the packs the index names) whose retention ends
// within half a period or whose mode is weaker than the config's (which
// it raises), sets the bucket's default retention again if it is weaker
// than the config's, and returns how many files it extended. So a file in use
// is always protected for at least half the period, and a file no longer
// used becomes deletable at most one period after its last extension.
func (r *Repository) ExtendRetention(ctx context.Context) (int, error) {
	rt := backend.FindRetainer(r.be)
	if rt == nil || !r.cfg.Lock.Enabled() {
		return 0, nil
	}
	if err := r.restoreBucketDefault(ctx); err != nil {
		return 0, err
	}
	now := r.opts.Now()
	until, threshold := now.Add(r.cfg.Lock.Period), now.Add(r.cfg.Lock.Period/2)
	handles, err := r.filesInUse(ctx)
	if err != nil {
		return 0, err
	}
	var extended atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Connections)
	for _, h := range handles {
		g.Go(func() error {
			cur, err := rt.Retention(gctx, h)
			if err != nil {
				return fmt.Errorf("retention of %v: %w", h, err)
			}
			if !cur.Until.Before(threshold) && LockModeRank(cur.Mode) >= LockModeRank(r.cfg.Lock.Mode) {
				return nil
			}
			if err := rt.Retain(gctx, h, until); err != nil {
				return err
			}
			extended.Add(1)
			return nil
		})
	}
	err = g.Wait()
	return int(extended.Load()), err
}

// pruneLoadIndex reads every index file; a damaged one stops prune.
func (r *Repository) pruneLoadIndex(ctx context.Context) ([]string, map[blob.ID]*prunePack, error) {
	names, err := backend.Names(ctx, r.be, backend.Index)
	if err != nil {
		return nil, nil, err
	}
	files := map[string]*index.File{}
	superseded := map[string]bool{}
	for _, name := range names {
		f, err := r.LoadIndexFile(ctx, name)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: index file %s: %w; run \"cairn repair index\"", ErrNeedsRepair, shortName(name), err)
		}
		files[name] = f
		for _, id := range f.Supersedes {
			superseded[id.String()] = true
		}
	}
	// A superseded file (kept by its retention) may name packs that are
	// gone: its packs are not counted; its name is in the list of files
	// the new index replaces, so that it is removed once it can be.
	packs := map[blob.ID]*prunePack{}
	for _, name := range names {
		f := files[name]
		if superseded[name] {
			continue
		}
		for i := range f.Packs {
			p := &f.Packs[i]
			if _, ok := packs[p.ID]; !ok {
				packs[p.ID] = &prunePack{ip: p}
			}
		}
	}
	return names, packs, nil
}

// markUsed returns every blob reachable from any snapshot.
func (r *Repository) markUsed(ctx context.Context) (map[blob.Handle]bool, error) {
	snaps, bad, err := r.LoadSnapshots(ctx)
	if err != nil {
		return nil, err
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w: %w; run \"cairn check\"", ErrNeedsRepair, bad[0])
	}
	roots := make([]blob.ID, 0, len(snaps))
	for _, s := range snaps {
		roots = append(roots, s.Tree)
	}
	var mu sync.Mutex
	used := map[blob.Handle]bool{}
	var treeErr error
	err = r.walkTrees(ctx, roots, func(id blob.ID, t *snapshot.Tree, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if treeErr == nil {
				treeErr = fmt.Errorf("%w: tree %s cannot be read (%w); run \"cairn check\"", ErrNeedsRepair, id.Short(), err)
			}
			return
		}
		used[blob.Handle{Type: blob.Tree, ID: id}] = true
		for i := range t.Nodes {
			for _, c := range t.Nodes[i].Content {
				used[blob.Handle{Type: blob.Data, ID: c}] = true
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return used, treeErr
}

// repack copies the used blobs of packs into new packs, verifying each
// blob on the way out and again after upload, before anything is deleted.
func (r *Repository) repack(ctx context.Context, packs []*prunePack, rep *PruneReport) error {
	if len(packs) == 0 {
		return nil
	}
	before := r.idx.Packs()
	for _, p := range packs {
		h := backend.Handle{Type: backend.Pack, Name: p.ip.ID.String()}
		data, err := backend.ReadAll(ctx, r.be, h, 0, 0)
		if err != nil {
			return fmt.Errorf("repack %s: %w", shortName(h.Name), err)
		}
		for _, e := range p.keep {
			end := int64(e.Offset) + int64(e.Length)
			if end > int64(len(data)) {
				return fmt.Errorf("%w: pack %s is truncated; run \"cairn check --read-data\"", ErrNeedsRepair, shortName(h.Name))
			}
			plain, err := pack.OpenBlob(r.key, p.ip.Salt, e, data[e.Offset:end])
			if err != nil {
				return fmt.Errorf("%w: %w; run \"cairn check --read-data\"", ErrNeedsRepair, err)
			}
			if _, _, _, err := r.saveBlob(ctx, e.Type, plain, false); err != nil {
				return err
			}
		}
	}
	if err := r.Flush(ctx); err != nil {
		return err
	}
	rep.PacksWritten = r.idx.Packs() - before
	// Read every repacked blob back from its new pack.
	old := map[blob.ID]bool{}
	for _, p := range packs {
		old[p.ip.ID] = true
	}
	r.idx.RemovePacks(old)
	for _, p := range packs {
		for _, e := range p.keep {
			if _, err := r.LoadBlob(ctx, e.Handle()); err != nil {
				return fmt.Errorf("verify repacked blob %v: %w", e.Handle(), err)
			}
		}
	}
	return nil
}
