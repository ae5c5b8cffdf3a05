package repo

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"slices"
	"sync"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/index"
	"github.com/cairn-backup/cairn/pack"
)

// pendingBlob is a compressed blob waiting for its pack.
type pendingBlob struct {
	id         blob.ID
	payload    []byte
	rawLen     int
	compressed bool
}

// packer gathers the blobs of one type until a pack is full.
type packer struct {
	t     blob.Type
	blobs []pendingBlob
	size  int
	arena []byte // the blobs' payloads, one after another
}

// SaveBlob stores data as a blob of type t unless the repository already
// has it, and returns its ID and whether it was already known. The blob is
// durable only after Flush. data is copied (compressed or not) before
// SaveBlob returns: the caller may reuse its buffer at once.
func (r *Repository) SaveBlob(ctx context.Context, t blob.Type, data []byte) (blob.ID, bool, error) {
	id, known, _, err := r.saveBlob(ctx, t, data, true)
	return id, known, err
}

// SaveBlobStored is SaveBlob that also reports the bytes the blob takes in
// its pack (compressed and sealed; 0 when it was already stored).
func (r *Repository) SaveBlobStored(ctx context.Context, t blob.Type, data []byte) (blob.ID, bool, int, error) {
	return r.saveBlob(ctx, t, data, true)
}

// saveBlob stores a blob; with dedup false it stores it even when the index
// has it already (prune copies blobs out of packs it will delete).
func (r *Repository) saveBlob(ctx context.Context, t blob.Type, data []byte, dedup bool) (blob.ID, bool, int, error) {
	if !t.Valid() {
		return blob.ID{}, false, 0, fmt.Errorf("save blob: invalid type %d", t)
	}
	if len(data) > pack.MaxPlaintext {
		return blob.ID{}, false, 0, fmt.Errorf("save blob: %d bytes exceed the limit of %d", len(data), pack.MaxPlaintext)
	}
	id := r.key.ID(data)
	h := blob.Handle{Type: t, ID: id}
	if dedup && r.idx.Has(h) {
		return id, true, 0, nil
	}
	r.mu.Lock()
	if r.failed != nil {
		r.mu.Unlock()
		return id, false, 0, r.failed
	}
	if _, ok := r.inflight[h]; ok || (dedup && r.idx.Has(h)) {
		r.mu.Unlock()
		return id, true, 0, nil
	}
	r.inflight[h] = struct{}{}
	r.mu.Unlock()

	scratch := compressBufs.Get(len(data) + len(data)/128 + 1024)
	out, compressed := pack.Compress(r.opts.Compression, scratch, data)

	full, filled, stored, err := r.place(ctx, h, out, len(data), compressed)
	compressBufs.Put(out)
	if err != nil {
		r.dropInflight(h)
		return id, false, 0, err
	}
	for _, f := range []*packer{full, filled} {
		switch {
		case f == nil:
		case err != nil:
			r.finishPack(f, err) // not written: its blobs are no longer in flight
		default:
			err = r.writePack(ctx, f)
		}
	}
	return id, false, stored, err
}

// place copies a compressed blob (out, of rawLen plaintext bytes) into the
// arena of the packer of its type, making a new packer when there is none
// or the blob does not fit. It returns the packer the blob did not fit
// (full) and the one it filled, for the caller to write, and the bytes the
// blob takes in its pack. A new data arena needs one of r.arenas; when all
// are taken it hands on the full pack itself and waits for one to be
// freed, which bounds a backup's pack memory whatever the speed of the
// storage. On error nothing was placed.
func (r *Repository) place(ctx context.Context, h blob.Handle, out []byte, rawLen int, compressed bool) (full, filled *packer, stored int, err error) {
	t := h.Type
	var p *packer
	token := false // holds one of r.arenas for a new data arena
	for {
		r.mu.Lock()
		p = r.packers[t]
		if p != nil && len(p.blobs) > 0 && len(p.arena)+len(out)+crypto.Overhead > cap(p.arena) {
			// The blob does not fit the arena: the pack is written as it
			// is rather than the arena grown (a copy of 16 MiB, and a
			// larger buffer that would stay on the free list).
			full, r.packers[t] = p, nil
			p = nil
		}
		if p != nil || t != blob.Data || token {
			break
		}
		select {
		case r.arenas <- struct{}{}:
			token = true
		default:
		}
		if token {
			break
		}
		// Every data arena is taken (one gathering, the others being
		// sealed or written): hand on the full pack, then wait.
		r.mu.Unlock()
		if full != nil {
			if err := r.writePack(ctx, full); err != nil {
				return nil, nil, 0, err
			}
			full = nil
		}
		select {
		case r.arenas <- struct{}{}:
			token = true
		case <-ctx.Done():
			return nil, nil, 0, ctx.Err()
		}
	}
	defer r.mu.Unlock()
	if token && p != nil {
		<-r.arenas // another saver made a new arena meanwhile; the blob fits it
	}
	if p == nil {
		p = &packer{t: t}
		if t == blob.Data {
			p.arena = r.getBuf(r.bufSize())
		} else {
			// Tree packs are smaller (packTarget) and fewer: an arena of
			// their own size, not recycled. An arena that grew would keep
			// every smaller array it outgrew alive, through the payloads
			// that point into them.
			p.arena = make([]byte, 0, r.packTarget(t)+1<<20)
		}
		r.packers[t] = p
	}
	// The payload waits in the packer's arena, one recycled buffer per
	// pack, instead of in an allocation of its own, followed by room for
	// its tag: the pack is sealed where it lies (buildPack).
	start := len(p.arena)
	p.arena = append(p.arena, out...)
	p.arena = append(p.arena, sealRoom[:]...)
	payload := p.arena[start : start+len(out) : start+len(out)+crypto.Overhead]
	p.blobs = append(p.blobs, pendingBlob{id: h.ID, payload: payload, rawLen: rawLen, compressed: compressed})
	p.size += len(payload) + crypto.Overhead
	if p.size >= r.packTarget(t) {
		filled, r.packers[t] = p, nil
	}
	return full, filled, len(payload) + crypto.Overhead, nil
}

// sealRoom is the room left after each payload in an arena for the tag
// that sealing in place appends.
var sealRoom [crypto.Overhead]byte

// compressBufs recycles compression output buffers: as many as blobs are
// compressed at once (one per core), and none larger than most chunks, so
// that the few large chunks do not keep their buffers alive.
var compressBufs = blob.NewBuffers(runtime.GOMAXPROCS(0), 1<<20, 2<<20)

// packTarget is the size at which a pack of blobs of type t is written:
// the repository's pack size for data, a quarter of it (at least the
// smallest pack size) for trees (design §7). Tree packs are gathered in a
// buffer that grows as needed; a smaller target bounds it, and the trees
// of a backup rarely fill even that.
func (r *Repository) packTarget(t blob.Type) int {
	if t == blob.Tree {
		return int(max(r.cfg.PackSize/4, MinPackSize))
	}
	return int(r.cfg.PackSize)
}

// bufSize is the capacity of the recycled buffers that packs are gathered
// and built in: a full pack, its header, and the overshoot of the last
// blob when it is of average size (append grows a buffer past it).
func (r *Repository) bufSize() int {
	return int(r.cfg.PackSize) + 1<<20
}

// BackupMemory estimates the memory a backup into r needs: the pack
// buffers (one per upload slot, one gathering data, and the smaller tree
// arena), the
// index with room to grow by half, per core a zstd encoder's state and
// the buffers of a blob being compressed and verified, and an allowance
// for chunks in flight, trees and the runtime. The CLI keeps the Go
// runtime's soft memory limit no lower than this during a backup, so that
// freed buffers are returned to the system promptly instead of piling up
// in the peak RSS.
func (r *Repository) BackupMemory() int64 {
	const perBlob = 48 * 3 / 2 // index bytes per blob, with headroom
	blobs := int64(r.idx.Len(blob.Data) + r.idx.Len(blob.Tree))
	perCore := int64(encoderState + 3<<20)
	return int64(cap(r.uploadSem)+1)*int64(r.bufSize()) + int64(r.packTarget(blob.Tree)+1<<20) + blobs*perBlob +
		int64(runtime.GOMAXPROCS(0))*perCore + 16<<20
}

// encoderState is the memory of one zstd encoder at the fastest level
// with pack.Compress's window (measured with heap profiles).
const encoderState = 2 << 20

// getBuf returns an empty buffer with room for size bytes, from the free
// list when one there is large enough. A fresh 16 MiB buffer per pack
// costs clearing and a page fault per 4 KiB: a few percent of a backup's
// CPU, and garbage that raises the peak memory.
func (r *Repository) getBuf(size int) []byte {
	select {
	case b := <-r.bufs:
		if cap(b) >= size {
			return b[:0]
		}
	default:
	}
	return make([]byte, 0, size)
}

// putBuf returns a buffer to the free list, or drops it when the list is
// full. Nothing may use the buffer afterwards.
func (r *Repository) putBuf(b []byte) {
	if cap(b) < r.bufSize() {
		return
	}
	select {
	case r.bufs <- b[:0]:
	default:
	}
}

// releaseArena gives back the packer's arena: to the free list, and for a
// data pack its place among r.arenas. Call it once per packer.
func (r *Repository) releaseArena(p *packer) {
	if p.arena == nil {
		return
	}
	r.putBuf(p.arena)
	p.arena = nil
	if p.t == blob.Data {
		<-r.arenas
	}
}

// dropInflight forgets a blob that will not be stored after all.
func (r *Repository) dropInflight(h blob.Handle) {
	r.mu.Lock()
	delete(r.inflight, h)
	r.mu.Unlock()
}

// writePack shuffles, seals and verifies the packer's blobs into a pack,
// then uploads it in the background (at most uploadSlots at once, so
// workers keep chunking and compressing meanwhile). Flush waits for every
// upload. A failure is remembered and returned by later calls.
func (r *Repository) writePack(ctx context.Context, p *packer) error {
	// Take the upload slot before building, so that no more than
	// uploadSlots built packs exist at once: memory stays bounded.
	select {
	case r.uploadSem <- struct{}{}:
	case <-ctx.Done():
		r.releaseArena(p)
		r.finishPack(p, ctx.Err())
		return ctx.Err()
	}
	parts, ip, err := r.buildPack(p)
	if err != nil {
		<-r.uploadSem
		r.releaseArena(p)
		r.finishPack(p, err)
		return err
	}
	// Bound the uploads still running once their buffer is released
	// (those waiting for the disk to sync).
	select {
	case r.syncing <- struct{}{}:
	case <-ctx.Done():
		<-r.uploadSem
		r.releaseArena(p)
		r.finishPack(p, ctx.Err())
		return ctx.Err()
	}
	r.uploads.Add(1)
	// The upload outlives the call that filled the pack (a worker's
	// context may end first); an abandoned upload is harmless because a
	// pack is stored atomically and indexed only afterwards.
	uctx := r.uploadContext(ctx)
	go func() {
		defer r.uploads.Done()
		defer func() { <-r.syncing }()
		// The arena (the pack's bytes) and the slot are given back as
		// soon as the backend is done with them: a local backend then
		// still syncs the file, and the next pack need not wait for the
		// disk.
		var arenaOnce, slotOnce sync.Once
		freeArena := func() {
			arenaOnce.Do(func() { r.releaseArena(p) })
		}
		freeSlot := func() { slotOnce.Do(func() { <-r.uploadSem }) }
		r.finishPack(p, r.uploadPack(uctx, parts, ip, freeArena, freeSlot))
	}()
	return nil
}

// BindUploads makes background pack uploads started from now on stop when
// ctx ends: the command's own context, cancelled by Ctrl-C or SIGTERM, so
// that an interrupted command never waits on a hung upload. Without it an
// upload runs to its end, whatever the context of the call that filled
// the pack (a worker's context may end first).
func (r *Repository) BindUploads(ctx context.Context) {
	r.mu.Lock()
	r.uploadCtx = ctx
	r.mu.Unlock()
}

func (r *Repository) uploadContext(ctx context.Context) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.uploadCtx != nil {
		return r.uploadCtx
	}
	return context.WithoutCancel(ctx)
}

// waitUploads waits for background pack uploads and returns the first
// failure, if any.
func (r *Repository) waitUploads() error {
	r.uploads.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// buildPack shuffles the packer's blobs and seals them where they lie in
// its arena, each verified before it is kept (pack.Writer.AddInPlace). It
// returns the pack's bytes as parts in file order; the arena holds them
// until they are stored.
func (r *Repository) buildPack(p *packer) ([][]byte, index.Pack, error) {
	if err := shuffle(p.blobs); err != nil {
		return nil, index.Pack{}, err
	}
	w, err := pack.NewPartsWriter(r.key)
	if err != nil {
		return nil, index.Pack{}, err
	}
	for _, b := range p.blobs {
		if err := w.AddInPlace(p.t, b.id, b.payload, b.rawLen, b.compressed); err != nil {
			return nil, index.Pack{}, fmt.Errorf("write pack: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, index.Pack{}, err
	}
	for i := range p.blobs {
		p.blobs[i].payload = nil // sealed: only the parts name the bytes now
	}
	return w.Parts(), index.Pack{Salt: w.Salt(), Blobs: w.Entries()}, nil
}

// uploadPack stores a built pack, checks its size, and only then indexes
// its blobs.
func (r *Repository) uploadPack(ctx context.Context, parts [][]byte, ip index.Pack, freeArena, freeSlot func()) error {
	name, err := r.saveParts(ctx, backend.Pack, parts, freeArena, freeSlot)
	if err != nil {
		return err
	}
	ip.ID, _ = blob.ParseID(name)
	r.idx.Add(ip)
	r.mu.Lock()
	r.written = append(r.written, ip)
	r.writtenBlobs += len(ip.Blobs)
	checkpoint := len(r.written) >= r.opts.CheckpointPacks || r.writtenBlobs >= r.opts.IndexFileBlobs
	r.mu.Unlock()
	if checkpoint {
		return r.WriteIndex(ctx)
	}
	return nil
}

// finishPack releases the pack's blobs from the in-flight set and records
// a failure.
func (r *Repository) finishPack(p *packer, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range p.blobs {
		delete(r.inflight, blob.Handle{Type: p.t, ID: b.id})
	}
	if err != nil && r.failed == nil {
		r.failed = err
	}
}

// shuffle puts blobs in a random order (Fisher-Yates with crypto/rand).
func shuffle(blobs []pendingBlob) error {
	for i := len(blobs) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return err
		}
		k := int(j.Int64())
		blobs[i], blobs[k] = blobs[k], blobs[i]
	}
	return nil
}

// Flush writes every partly filled pack and then an index file naming all
// packs stored since the last index file. If a pack cannot be written or
// uploaded, the packs that were stored are still indexed (SalvageIndex)
// before the error is returned.
func (r *Repository) Flush(ctx context.Context) error {
	r.mu.Lock()
	var partial []*packer
	for t, p := range r.packers {
		if p != nil && len(p.blobs) > 0 {
			partial = append(partial, p)
		}
		r.packers[t] = nil
	}
	r.mu.Unlock()
	for _, p := range partial {
		if err := r.writePack(ctx, p); err != nil {
			_, _ = r.SalvageIndex(ctx)
			return err
		}
	}
	if err := r.waitUploads(); err != nil {
		_, _ = r.SalvageIndex(ctx)
		return err
	}
	return r.WriteIndex(ctx)
}

// blobCount is the number of blobs the packs hold.
func blobCount(packs []index.Pack) int {
	n := 0
	for _, p := range packs {
		n += len(p.Blobs)
	}
	return n
}

// WriteIndex stores index files for the packs stored since the last one
// (a checkpoint), each of at most Options.IndexFileBlobs blobs. Blobs still
// waiting in packers are not included. An earlier upload failure does not
// stop it: the packs that did arrive are indexed all the same (design
// §12.3).
func (r *Repository) WriteIndex(ctx context.Context) error {
	r.mu.Lock()
	packs := r.written
	r.written, r.writtenBlobs = nil, 0
	r.mu.Unlock()
	done := 0 // packs indexed
	for _, run := range index.Split(packs, r.opts.IndexFileBlobs) {
		f := &index.File{Packs: run}
		name, err := r.SaveFile(ctx, backend.Index, crypto.KindIndex, f.Encode())
		if err != nil {
			// This run's packs and the ones after it wait for the next
			// index file.
			rest := packs[done:]
			r.mu.Lock()
			r.written = append(slices.Clip(rest), r.written...)
			r.writtenBlobs += blobCount(rest)
			r.mu.Unlock()
			return fmt.Errorf("write index: %w", err)
		}
		done += len(run)
		r.mu.Lock()
		if r.indexNames != nil {
			r.indexNames[name] = true // already in the in-memory index
		}
		r.mu.Unlock()
	}
	return nil
}

// SalvageIndex is what a command calls when it stops early, whatever the
// cause (an upload error, a cancel, a lost lock): it waits for the uploads
// in flight and writes an index file for every pack stored since the last
// one, so the next run reuses their blobs. It ignores ctx's cancellation.
// If the command's lock was lost, a prune may have run meanwhile: it then
// takes a fresh shared lock, keeps only the packs that still exist, and
// indexes those. It returns the number of packs indexed.
func (r *Repository) SalvageIndex(ctx context.Context) (int, error) {
	ctx = context.WithoutCancel(ctx)
	r.uploads.Wait()
	r.mu.Lock()
	n := len(r.written)
	old := r.lock
	r.mu.Unlock()
	if n == 0 {
		return 0, nil
	}
	if old == nil || old.Valid() == nil {
		return n, r.WriteIndex(ctx)
	}
	fresh, err := r.tryLock(ctx, false)
	if err != nil {
		return 0, fmt.Errorf("index the %d packs stored: the lock was lost and cannot be taken again: %w", n, err)
	}
	close(fresh.done) // no refresh: held for two steps only
	r.mu.Lock()
	r.lock = fresh
	var kept []index.Pack
	packs := r.written
	r.mu.Unlock()
	for _, p := range packs {
		if _, err := r.be.Stat(ctx, backend.Handle{Type: backend.Pack, Name: p.ID.String()}); err == nil {
			kept = append(kept, p)
		}
	}
	r.mu.Lock()
	r.written, r.writtenBlobs = kept, blobCount(kept)
	r.mu.Unlock()
	err = r.WriteIndex(ctx)
	_ = fresh.Unlock()
	r.mu.Lock()
	r.lock = old
	r.mu.Unlock()
	return len(kept), err
}

// LoadBlob reads a blob with one range request, decrypts, decompresses and
// verifies it against its ID. Damage yields a *pack.BlobError.
func (r *Repository) LoadBlob(ctx context.Context, h blob.Handle) ([]byte, error) {
	return r.LoadBlobInto(ctx, h, nil)
}

// packAEAD returns the cipher of pack id (key.PackAEAD of its salt) from
// a small cache: deriving it (HKDF and an AES key schedule) costs more
// than opening a small blob, and a restore reads the blobs of one pack
// one after another.
func (r *Repository) packAEAD(id blob.ID, salt [crypto.PackSaltSize]byte) cipher.AEAD {
	r.aeadMu.Lock()
	defer r.aeadMu.Unlock()
	if a, ok := r.aeads[id]; ok {
		return a
	}
	if len(r.aeads) >= 64 || r.aeads == nil {
		r.aeads = map[blob.ID]cipher.AEAD{} // start again rather than track use
	}
	a := r.key.PackAEAD(salt)
	r.aeads[id] = a
	return a
}

// sealedBufs recycles the buffers LoadBlobInto reads and decrypts
// compressed blobs in.
var sealedBufs = blob.NewBuffers(2*runtime.GOMAXPROCS(0), 64<<10, 2<<20)

// LoadBlobInto is LoadBlob returning the plaintext in buf's array when it
// has room, so that a caller loading many blobs (a restore) reuses one
// buffer instead of leaving one per blob to the collector. The caller may
// reuse buf once it is done with the result.
func (r *Repository) LoadBlobInto(ctx context.Context, h blob.Handle, buf []byte) ([]byte, error) {
	// A cancelled command stops here even when the pack cache could
	// serve the blob without any I/O.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	loc, ok := r.idx.Lookup(h)
	if !ok {
		return nil, fmt.Errorf("blob %v: %w", h, ErrNotFound)
	}
	// An uncompressed blob decrypts straight into buf; a compressed one
	// decrypts into a recycled buffer and decompresses into buf.
	var scratch []byte
	payloadDst := func(sealed []byte) []byte {
		if !loc.Entry.Compressed && cap(buf) >= len(sealed) {
			return buf[:0]
		}
		scratch = sealedBufs.Get(len(sealed))
		return scratch
	}
	defer func() { sealedBufs.Put(scratch) }()
	if r.packs != nil {
		// From a cached whole pack; anything it cannot serve (a damaged or
		// too large pack, or one the plan reads no more) is read below,
		// with the errors that path reports.
		defer r.packs.done(loc.Pack)
		data, aead, err := r.packs.get(ctx, r.be, r.key, loc.Pack, loc.Salt)
		end := uint64(loc.Entry.Offset) + uint64(loc.Entry.Length)
		if err == nil && end <= uint64(len(data)) {
			// The pack is shared: decrypt into a buffer of its own.
			sealed := data[loc.Entry.Offset:end]
			if b, err := pack.OpenBlobInto(r.key, aead, loc.Entry, sealed, payloadDst(sealed), buf); err == nil {
				if scratch != nil && !loc.Entry.Compressed {
					b = append(buf[:0], b...) // the plaintext is in the scratch buffer
				}
				return b, nil
			}
		}
	}
	ph := backend.Handle{Type: backend.Pack, Name: loc.Pack.String()}
	if scratch == nil {
		scratch = sealedBufs.Get(int(loc.Entry.Length))
	}
	sealed, err := backend.ReadInto(ctx, r.be, ph, int64(loc.Entry.Offset), int64(loc.Entry.Length), scratch)
	if err != nil {
		if errors.Is(err, backend.ErrNotExist) || errors.Is(err, backend.ErrTruncated) {
			return nil, &pack.BlobError{Handle: h, Err: err}
		}
		return nil, fmt.Errorf("load blob %v from pack %v: %w", h, loc.Pack.Short(), err)
	}
	if len(sealed) > 0 && cap(scratch) > 0 && &sealed[:1][0] != &scratch[:1][0] {
		scratch = nil // the backend handed over a buffer of its own
	}
	b, err := pack.OpenBlobInto(r.key, r.packAEAD(loc.Pack, loc.Salt), loc.Entry, sealed, sealed[:0], buf)
	if err != nil {
		return nil, err
	}
	if scratch != nil && !loc.Entry.Compressed {
		b = append(buf[:0], b...) // the plaintext is in the scratch buffer; buf may be nil
	}
	return b, nil
}
