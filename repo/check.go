package repo

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/index"
	"github.com/cairn-backup/cairn/pack"
	"github.com/cairn-backup/cairn/snapshot"
	"golang.org/x/sync/errgroup"
)

// CheckOptions choose what check verifies.
type CheckOptions struct {
	ReadData bool    // read and verify packs
	Subset   *Subset // with ReadData: only these packs (nil: all)
	Rolling  float64 // percent: read the packs verified longest ago (0: off)
	// Snapshots limits the check to what these snapshots use (nil: all).
	Snapshots []*snapshot.Snapshot
	Progress  *CheckProgress
}

// CheckProgress is updated while check reads packs.
type CheckProgress struct {
	PacksDone, BytesDone   atomic.Uint64
	PacksTotal, BytesTotal atomic.Uint64
}

// Problem is damage to a repository file that is not a blob: the config, a
// key, an index, a snapshot, or a pack as a whole.
type Problem struct {
	File string // e.g. "index/3f2a9c1b"
	Err  string
}

// Damage is a blob that is missing or unreadable, with what it hurts.
type Damage struct {
	Blob      blob.Handle
	Pack      blob.ID // zero if no index names the blob
	Reason    string
	Snapshots []blob.ID
	Paths     []string
}

// RollingReport describes rolling verification after a check.
type RollingReport struct {
	Packs         int       // packs in the repository
	Verified      int       // packs with a recorded verification
	Coverage      float64   // Verified / Packs
	Oldest        time.Time // oldest recorded verification among current packs (zero: some never verified)
	NeverVerified int
	RunsToCover   int // ceil(100/P): consecutive runs that together read every pack
}

// CheckReport is the outcome of Check.
type CheckReport struct {
	Problems       []Problem
	Damage         []Damage
	UnindexedPacks []string
	Packs          int
	Snapshots      int
	Trees          int
	PacksRead      int
	BytesRead      uint64
	Rolling        *RollingReport
	// Object lock: files in use whose retention ends within half the lock
	// period (maintenance has not extended it), with when it ends.
	RetentionShort []RetentionGap
}

// RetentionGap is a file in use whose retention ends too soon.
type RetentionGap struct {
	File  string
	Until time.Time // zero: no retention at all
}

// OK reports whether the check found nothing wrong.
func (c *CheckReport) OK() bool { return len(c.Problems) == 0 && len(c.Damage) == 0 }

type checker struct {
	r      *Repository
	opts   CheckOptions
	report CheckReport

	mu      sync.Mutex // guards damaged, problems
	damaged map[blob.Handle]*Damage
	packs   map[blob.ID]*index.Pack // every pack named by a readable index file
	files   map[blob.ID]int64       // pack files in storage and their sizes
	used    map[blob.ID]bool        // packs holding blobs the checked snapshots use (nil: all)
}

// packReads is how many packs check --read-data reads and verifies at
// once: one per connection, but from a local disk, whose reads are quick
// next to the verification, one per core.
func (r *Repository) packReads() int {
	if r.local {
		return min(r.opts.Connections, runtime.GOMAXPROCS(0))
	}
	return r.opts.Connections
}

// CheckMemory estimates the memory check --read-data needs: for each pack
// read at once a read buffer and the two blob buffers it verifies in
// (packs are streamed, never held whole), and an allowance for the index
// and the runtime. The CLI keeps the Go runtime's soft memory limit no
// lower than this while it runs (engine.GovernMemory).
func (r *Repository) CheckMemory() int64 {
	return int64(r.packReads())*(2*4<<20+256<<10) + int64(r.idx.Len(blob.Data)+r.idx.Len(blob.Tree))*72 + 16<<20
}

// Check verifies the repository's structure and, with ReadData, its data.
// It never modifies data; with Rolling it records which packs it verified.
func (r *Repository) Check(ctx context.Context, opts CheckOptions) (*CheckReport, error) {
	c := &checker{r: r, opts: opts, damaged: map[blob.Handle]*Damage{}, packs: map[blob.ID]*index.Pack{}, files: map[blob.ID]int64{}}
	steps := []func(context.Context) error{c.checkConfig, c.checkKeys, c.checkIndex, c.checkPacks, c.checkSnapshots}
	if opts.ReadData || opts.Rolling > 0 {
		steps = append(steps, c.readData)
	}
	steps = append(steps, c.mapDamage, c.checkRetention)
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err // a step may stop early without an error of its own
		}
	}
	for _, d := range c.damaged {
		c.report.Damage = append(c.report.Damage, *d)
	}
	sort.Slice(c.report.Damage, func(i, j int) bool {
		return c.report.Damage[i].Blob.ID.String() < c.report.Damage[j].Blob.ID.String()
	})
	sort.Strings(c.report.UnindexedPacks)
	return &c.report, nil
}

// checkRetention finds, in a repository with an object lock, the files in
// use whose retention ends within half the period.
func (c *checker) checkRetention(ctx context.Context) error {
	r := c.r
	rt := backend.FindRetainer(r.be)
	if !r.cfg.Lock.Enabled() || rt == nil {
		return nil
	}
	handles, err := r.filesInUse(ctx)
	if err != nil {
		return err
	}
	if weak, err := r.bucketDefaultWeakness(ctx); err != nil {
		c.problem("bucket default retention", fmt.Errorf("read it: %w", err))
	} else if weak != "" {
		c.problem("bucket default retention", errors.New(weak))
	}
	threshold := r.opts.Now().Add(r.cfg.Lock.Period / 2)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Connections)
	for _, h := range handles {
		g.Go(func() error {
			ret, err := rt.Retention(gctx, h)
			if err != nil {
				c.problem(h.String(), fmt.Errorf("read its retention: %w", err))
				return nil
			}
			if ret.Mode != "" && LockModeRank(ret.Mode) < LockModeRank(r.cfg.Lock.Mode) {
				c.problem(h.String(), fmt.Errorf("locked in %s mode, weaker than the config's %s: run \"cairn prune\" with the maintenance credentials, which locks it again in %s mode", ret.Mode, r.cfg.Lock.Mode, r.cfg.Lock.Mode))
			}
			if ret.Until.Before(threshold) {
				c.mu.Lock()
				c.report.RetentionShort = append(c.report.RetentionShort, RetentionGap{File: h.String(), Until: ret.Until})
				c.mu.Unlock()
			}
			return nil
		})
	}
	err = g.Wait()
	sort.Slice(c.report.RetentionShort, func(i, j int) bool { return c.report.RetentionShort[i].File < c.report.RetentionShort[j].File })
	return err
}

func (c *checker) problem(file string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.report.Problems = append(c.report.Problems, Problem{File: file, Err: err.Error()})
}

func (c *checker) damage(h blob.Handle, packID blob.ID, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.damaged[h]; !ok {
		c.damaged[h] = &Damage{Blob: h, Pack: packID, Reason: reason}
	}
}

func (c *checker) checkConfig(ctx context.Context) error {
	data, err := backend.ReadAll(ctx, c.r.be, backend.Handle{Type: backend.Config}, 0, 0)
	if err == nil {
		_, err = openConfig(c.r.key, data)
	}
	if err != nil {
		c.problem("config", err)
	}
	return ctx.Err()
}

func (c *checker) checkKeys(ctx context.Context) error {
	names, err := backend.Names(ctx, c.r.be, backend.Key)
	if err != nil {
		return err
	}
	for _, name := range names {
		data, err := loadVerified(ctx, c.r.be, backend.Handle{Type: backend.Key, Name: name})
		if err == nil {
			var kf *crypto.KeyFile
			if kf, err = crypto.ParseKeyFile(data); err == nil {
				_, err = kf.Meta(c.r.key)
			}
		}
		if err != nil {
			c.problem("keys/"+shortName(name), err)
		}
	}
	return ctx.Err()
}

func (c *checker) checkIndex(ctx context.Context) error {
	names, err := backend.Names(ctx, c.r.be, backend.Index)
	if err != nil {
		return err
	}
	for _, name := range names {
		f, err := c.r.LoadIndexFile(ctx, name)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.problem("index/"+shortName(name), err)
			continue
		}
		for i := range f.Packs {
			p := &f.Packs[i]
			if _, ok := c.packs[p.ID]; !ok {
				c.packs[p.ID] = p
			}
		}
	}
	return nil
}

func (c *checker) checkPacks(ctx context.Context) error {
	err := c.r.be.List(ctx, backend.Pack, func(fi backend.FileInfo) error {
		id, err := blob.ParseID(fi.Name)
		if err != nil {
			c.problem(fi.Where(backend.Pack), errors.New("pack file name is not a hash"))
			return nil
		}
		c.files[id] = fi.Size
		return nil
	})
	if err != nil {
		return err
	}
	c.report.Packs = len(c.files)
	missing := map[blob.ID]bool{}
	for id := range c.packs {
		if _, ok := c.files[id]; !ok {
			missing[id] = true
		}
	}
	// A blob of a missing pack is lost only if no other pack holds it.
	c.r.idx.RemovePacks(missing)
	for id := range missing {
		c.problem("data/"+shortName(id.String()), errors.New("pack named by the index is missing"))
		for _, e := range c.packs[id].Blobs {
			if !c.r.idx.Has(e.Handle()) {
				c.damage(e.Handle(), id, "pack is missing")
			}
		}
	}
	for id, p := range c.packs {
		size, ok := c.files[id]
		if !ok {
			continue
		}
		if want := pack.FileSize(p.Blobs); size != want {
			c.problem("data/"+shortName(id.String()), fmt.Errorf("pack has %d bytes, the index expects %d", size, want))
			for _, e := range p.Blobs {
				if int64(e.Offset)+int64(e.Length) > size {
					c.damage(e.Handle(), id, "pack is truncated")
				}
			}
		}
	}
	for id := range c.files {
		if _, ok := c.packs[id]; !ok {
			c.report.UnindexedPacks = append(c.report.UnindexedPacks, id.String())
		}
	}
	return nil
}

func (c *checker) checkSnapshots(ctx context.Context) error {
	snaps := c.opts.Snapshots
	if snaps == nil {
		var bad []error
		var err error
		if snaps, bad, err = c.r.LoadSnapshots(ctx); err != nil {
			return err
		}
		for _, e := range bad {
			c.problem("snapshots", e)
		}
	} else {
		c.used = map[blob.ID]bool{}
	}
	c.report.Snapshots = len(snaps)
	roots := make([]blob.ID, 0, len(snaps))
	for _, s := range snaps {
		roots = append(roots, s.Tree)
	}
	var trees atomic.Int64
	use := func(h blob.Handle) bool {
		loc, ok := c.r.idx.Lookup(h)
		if ok && c.used != nil {
			c.mu.Lock()
			c.used[loc.Pack] = true
			c.mu.Unlock()
		}
		return ok
	}
	err := c.r.walkTrees(ctx, roots, func(id blob.ID, t *snapshot.Tree, err error) {
		trees.Add(1)
		h := blob.Handle{Type: blob.Tree, ID: id}
		if !use(h) {
			c.damage(h, blob.ID{}, "tree is not in the index")
			return
		}
		if err != nil {
			loc, _ := c.r.idx.Lookup(h)
			c.damage(h, loc.Pack, "tree cannot be read: "+err.Error())
			return
		}
		for i := range t.Nodes {
			for _, cid := range t.Nodes[i].Content {
				if h := (blob.Handle{Type: blob.Data, ID: cid}); !use(h) {
					c.damage(h, blob.ID{}, "data blob is not in the index")
				}
			}
		}
	})
	c.report.Trees = int(trees.Load())
	return err
}

// readData downloads the selected packs and verifies every blob in them.
func (c *checker) readData(ctx context.Context) error {
	var all []PackFile
	for id, size := range c.files {
		if _, indexed := c.packs[id]; indexed && (c.used == nil || c.used[id]) {
			all = append(all, PackFile{Name: id.String(), Size: size})
		}
	}
	all = sortPacks(all)
	selected := all
	var state VerifyState
	var oldRecords []string
	var err error
	switch {
	case c.opts.Rolling > 0:
		if state, oldRecords, err = c.r.LoadVerifyState(ctx); err != nil {
			return err
		}
		selected = rollingSelect(all, state, c.opts.Rolling)
	case c.opts.Subset != nil:
		if selected, err = c.opts.Subset.Select(all); err != nil {
			return err
		}
	}
	prog := c.opts.Progress
	if prog == nil {
		prog = &CheckProgress{}
	}
	prog.PacksTotal.Store(uint64(len(selected)))
	var total uint64
	for _, p := range selected {
		total += uint64(p.Size)
	}
	prog.BytesTotal.Store(total)
	var verified sync.Map
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.r.packReads())
	for _, p := range selected {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			id, _ := blob.ParseID(p.Name)
			if err := c.readPack(gctx, id); err != nil {
				return err
			}
			verified.Store(id, true)
			prog.PacksDone.Add(1)
			prog.BytesDone.Add(uint64(p.Size))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.report.PacksRead = len(selected)
	c.report.BytesRead = total
	if c.opts.Rolling > 0 {
		now := c.r.opts.Now().UTC()
		next := VerifyState{}
		for _, p := range all {
			id, _ := blob.ParseID(p.Name)
			if _, ok := verified.Load(id); ok {
				next[id] = now
			} else if t, ok := state[id]; ok {
				next[id] = t // packs gone from the repository are dropped
			}
		}
		if err := c.r.SaveVerifyState(ctx, next, oldRecords); err != nil {
			return fmt.Errorf("save verification state: %w", err)
		}
		c.report.Rolling = rollingReport(all, next, c.opts.Rolling)
	}
	return nil
}

// rollingSelect picks ceil(P% of all) packs, never-verified first, then
// those verified longest ago.
func rollingSelect(all []PackFile, state VerifyState, percent float64) []PackFile {
	sorted := append([]PackFile(nil), all...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, _ := blob.ParseID(sorted[i].Name)
		b, _ := blob.ParseID(sorted[j].Name)
		return state[a].Before(state[b])
	})
	n := int(math.Ceil(float64(len(all)) * percent / 100))
	return sortPacks(sorted[:min(n, len(sorted))])
}

func rollingReport(all []PackFile, state VerifyState, percent float64) *RollingReport {
	rep := &RollingReport{Packs: len(all), RunsToCover: int(math.Ceil(100 / percent))}
	for _, p := range all {
		id, _ := blob.ParseID(p.Name)
		t, ok := state[id]
		if !ok {
			rep.NeverVerified++
			continue
		}
		rep.Verified++
		if rep.Oldest.IsZero() || t.Before(rep.Oldest) {
			rep.Oldest = t
		}
	}
	if rep.NeverVerified > 0 {
		rep.Oldest = time.Time{}
	}
	if rep.Packs > 0 {
		rep.Coverage = float64(rep.Verified) / float64(rep.Packs)
	}
	return rep
}

// readPack downloads one pack, checks its name hash, and opens every blob
// the index places in it.
func (c *checker) readPack(ctx context.Context, id blob.ID) error {
	h := backend.Handle{Type: backend.Pack, Name: id.String()}
	name := "data/" + shortName(id.String())
	ip := c.packs[id]
	rd, err := c.r.be.Load(ctx, h, 0, 0)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.problem(name, err)
		for _, e := range ip.Blobs {
			c.damage(e.Handle(), id, "pack cannot be read")
		}
		return nil
	}
	defer func() { _ = rd.Close() }()
	// The pack is read once, front to back, and never held whole: each
	// blob is read into a recycled buffer and opened there, while every
	// byte passes through the hash that must give the pack's name. The
	// header and trailer, at the end, are checked last.
	hasher := crypto.NewHash()
	br := bufio.NewReaderSize(io.TeeReader(rd, hasher), 256<<10)
	entries := slices.Clone(ip.Blobs)
	slices.SortFunc(entries, func(a, b pack.Entry) int { return cmp.Compare(a.Offset, b.Offset) })
	var pos int64
	var readErr error // why the rest of the pack could not be read
	sealed := blobBufs.Get(0)
	plain := blobBufs.Get(0)
	defer func() { blobBufs.Put(sealed); blobBufs.Put(plain) }()
	aead := c.r.key.PackAEAD(ip.Salt)
	for _, e := range entries {
		switch {
		case readErr != nil:
		case int64(e.Offset) < pos:
			readErr = fmt.Errorf("the index's blobs overlap at offset %d", e.Offset)
		default:
			sealed = slices.Grow(sealed[:0], int(e.Length))[:e.Length]
			if _, err := io.CopyN(io.Discard, br, int64(e.Offset)-pos); err != nil {
				readErr = err
			} else if _, err := io.ReadFull(br, sealed); err != nil {
				readErr = err
			} else {
				pos = int64(e.Offset) + int64(e.Length)
			}
		}
		if readErr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			why := "pack cannot be read"
			if errors.Is(readErr, io.EOF) || errors.Is(readErr, io.ErrUnexpectedEOF) {
				why = "pack is truncated"
			}
			c.damage(e.Handle(), id, why)
			continue
		}
		// Opened in place: the sealed bytes are not needed afterwards.
		if _, err := pack.OpenBlobInto(c.r.key, aead, e, sealed, sealed[:0], plain); err != nil {
			c.damage(e.Handle(), id, "blob is damaged: "+err.Error())
		}
	}
	if readErr != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(readErr, io.EOF) || errors.Is(readErr, io.ErrUnexpectedEOF) {
			readErr = fmt.Errorf("pack ends before its blobs do (the last whole blob ends at byte %d)", pos)
		}
		c.problem(name, readErr)
		return nil
	}
	tail, err := io.ReadAll(br)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.problem(name, err)
		return nil
	}
	var got blob.ID
	hasher.Sum(got[:0])
	if got != id {
		c.problem(name, errors.New("pack content does not match its name (the file is damaged)"))
	}
	size := pos + int64(len(tail))
	if pr, err := pack.NewReader(&tailReader{tail: tail, off: pos}, size, c.r.key); err != nil {
		c.problem(name, fmt.Errorf("pack header: %w", err))
	} else if pr.Salt() != ip.Salt || !sameEntries(pr.Entries(), ip.Blobs) {
		c.problem(name, errors.New("pack header and index disagree"))
	}
	return nil
}

// blobBufs recycles the buffers check --read-data reads and opens blobs
// in: two per pack being read.
var blobBufs = blob.NewBuffers(4*runtime.GOMAXPROCS(0), 1<<20, 4<<20)

func sameEntries(a, b []pack.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	byOffset := map[uint32]pack.Entry{}
	for _, e := range a {
		byOffset[e.Offset] = e
	}
	for _, e := range b {
		if byOffset[e.Offset] != e {
			return false
		}
	}
	return true
}

// mapDamage finds, for every damaged blob, the snapshots and paths using it.
func (c *checker) mapDamage(ctx context.Context) error {
	if len(c.damaged) == 0 {
		return nil
	}
	snaps := c.opts.Snapshots
	if snaps == nil {
		var err error
		if snaps, _, err = c.r.LoadSnapshots(ctx); err != nil {
			return err
		}
	}
	m := &damageMapper{c: c, hurt: map[blob.ID]bool{}}
	for _, s := range snaps {
		if err := m.walk(ctx, s, s.Tree, "/"); err != nil {
			return err
		}
	}
	for _, d := range c.damaged {
		sort.Strings(d.Paths)
		d.Paths = compactStrings(d.Paths)
	}
	return nil
}

type damageMapper struct {
	c    *checker
	hurt map[blob.ID]bool // trees known to contain no damage: false
}

// walk records damaged blobs below tree id; it returns quickly for trees
// already known to be whole.
func (m *damageMapper) walk(ctx context.Context, s *snapshot.Snapshot, id blob.ID, dir string) error {
	if hurt, known := m.hurt[id]; known && !hurt {
		return nil
	}
	if d, ok := m.c.damaged[blob.Handle{Type: blob.Tree, ID: id}]; ok {
		m.note(d, s, dir)
		m.hurt[id] = true
		return nil
	}
	t, err := m.c.r.LoadTree(ctx, id)
	if err != nil {
		return nil // reported as damage already
	}
	hurt := false
	for i := range t.Nodes {
		n := &t.Nodes[i]
		p := path.Join(dir, n.Name)
		for _, cid := range n.Content {
			if d, ok := m.c.damaged[blob.Handle{Type: blob.Data, ID: cid}]; ok {
				m.note(d, s, p)
				hurt = true
			}
		}
		if n.Type == snapshot.TypeDir {
			if err := m.walk(ctx, s, n.Subtree, p); err != nil {
				return err
			}
			hurt = hurt || m.hurt[n.Subtree]
		}
	}
	m.hurt[id] = hurt
	return ctx.Err()
}

func (m *damageMapper) note(d *Damage, s *snapshot.Snapshot, p string) {
	if len(d.Snapshots) == 0 || d.Snapshots[len(d.Snapshots)-1] != s.ID {
		d.Snapshots = append(d.Snapshots, s.ID)
	}
	d.Paths = append(d.Paths, p)
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
