package repo

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend/local"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/snapshot"
)

// BenchmarkPrune1M builds a repository of 1,000,000 data blobs (plus the
// trees naming them) in two overlapping snapshots, forgets the first and
// prunes, reporting prune's time and peak heap.
func BenchmarkPrune1M(b *testing.B) {
	const blobs, perTree = 1_000_000, 1000
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		be, err := local.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		opts := testOpts
		opts.PackSize = DefaultPackSize
		r, err := Init(ctx, be, pw, opts)
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]blob.ID, blobs)
		buf := make([]byte, 256)
		for i := range ids {
			binary.LittleEndian.PutUint64(buf, uint64(i))
			binary.LittleEndian.PutUint64(buf[128:], uint64(i)*0x9e3779b97f4a7c15)
			if ids[i], _, err = r.SaveBlob(ctx, blob.Data, buf); err != nil {
				b.Fatal(err)
			}
		}
		snap := func(from, to int) *snapshot.Snapshot {
			root := &snapshot.Tree{}
			for start := from; start < to; start += perTree {
				t := &snapshot.Tree{}
				for i := start; i < min(start+perTree, to); i++ {
					t.Nodes = append(t.Nodes, snapshot.Node{Name: fmt.Sprintf("f%07d", i), Type: snapshot.TypeFile, Size: 256, Content: []blob.ID{ids[i]}})
				}
				id, _, err := r.SaveBlob(ctx, blob.Tree, t.Encode())
				if err != nil {
					b.Fatal(err)
				}
				root.Nodes = append(root.Nodes, snapshot.Node{Name: fmt.Sprintf("d%07d", start), Type: snapshot.TypeDir, Subtree: id})
			}
			id, _, err := r.SaveBlob(ctx, blob.Tree, root.Encode())
			if err != nil {
				b.Fatal(err)
			}
			if err := r.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			s := &snapshot.Snapshot{Time: time.Now(), Tree: id}
			if err := r.SaveSnapshot(ctx, s); err != nil {
				b.Fatal(err)
			}
			return s
		}
		first := snap(0, blobs*6/10)
		snap(blobs*4/10, blobs)
		if err := r.RemoveSnapshot(ctx, first.ID); err != nil {
			b.Fatal(err)
		}
		pr, err := Open(ctx, be, pw, opts)
		if err != nil {
			b.Fatal(err)
		}
		l, err := pr.Lock(ctx, LockOptions{Exclusive: true, NoRefresh: true})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var peak atomic.Uint64
		stop := make(chan struct{})
		go func() {
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		b.StartTimer()
		rep, err := pr.Prune(ctx, PruneOptions{})
		b.StopTimer()
		close(stop)
		if err != nil {
			b.Fatal(err)
		}
		_ = l.Unlock()
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(rep.BlobsUsed+rep.BlobsUnused), "blobs")
		b.Logf("prune: %+v", rep)
		b.StartTimer()
	}
}
