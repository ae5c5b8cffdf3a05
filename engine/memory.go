package engine

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// GovernMemory sets the Go runtime's soft memory limit to the larger of
// base and the live heap plus an eighth plus 8 MiB,
// and keeps it there as the heap grows, until stop is called.
//
// Near the limit the runtime returns freed pages to the system promptly;
// without it they linger, and a backup's peak RSS was twice its live heap.
// Following the live heap means the limit never sits below what the
// backup holds (a big index, a directory of a million entries), where the
// collector would run without pause. GOMEMLIMIT in the environment turns
// this off.
func GovernMemory(base int64) (stop func()) {
	if os.Getenv("GOMEMLIMIT") != "" || capped.Load() > 0 {
		return func() {} // the user's limit (GOMEMLIMIT or --max-memory) stands
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	set := func() {
		metrics.Read(sample)
		var live int64
		if sample[0].Value.Kind() == metrics.KindUint64 {
			live = int64(min(sample[0].Value.Uint64(), math.MaxInt64/2))
		}
		debug.SetMemoryLimit(max(base, live+live/8+8<<20))
	}
	set()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				set()
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		debug.SetMemoryLimit(math.MaxInt64)
	}
}

// capped is the --max-memory limit in force (0: none).
var capped atomic.Int64

// MemoryPlan is how a command runs within a memory cap (--max-memory):
// fewer uploads and file reads at once and a smaller restore pack cache,
// with the Go runtime's memory limit at the cap. Slower, never out of
// memory.
type MemoryPlan struct {
	Max             int64 // the cap in bytes
	Connections     int   // concurrent storage requests (uploads in flight are half of them, at least 2)
	ReadConcurrency int   // files read at once by backup (0: the default)
	PackCache       int64 // bytes restore keeps of whole packs (0: none)
}

// PlanMemory fits a command into max bytes, for packs of packSize: the
// pack buffers (uploads in flight plus one per blob type being filled)
// take at most a third of it, the restore pack cache at most a quarter.
// It refuses a cap below what one pack upload needs.
func PlanMemory(max int64, packSize int64) (MemoryPlan, error) {
	const minUploads, blobTypes = 2, 2
	need := int64(minUploads+blobTypes)*packSize + 48<<20
	if max < need {
		return MemoryPlan{}, fmt.Errorf("--max-memory %d MiB is below the %d MiB this repository's %d MiB packs need", max>>20, need>>20, packSize>>20)
	}
	uploads := int(max/3/packSize) - blobTypes
	uploads = min(8, uploads)
	if uploads < minUploads {
		uploads = minUploads
	}
	p := MemoryPlan{Max: max, Connections: 2 * uploads}
	if max < 512<<20 {
		p.ReadConcurrency = 2 // fewer files (and their chunks) in memory at once
	}
	if cache := max / 4; cache >= 4*packSize {
		p.PackCache = min(cache, RestorePackCache)
	}
	return p, nil
}

// Apply sets the Go runtime's memory limit to the cap (the collector
// then works harder as the heap nears it) and keeps GovernMemory from
// raising it.
func (p MemoryPlan) Apply() {
	capped.Store(p.Max)
	debug.SetMemoryLimit(p.Max * 65 / 100)
}
