package engine

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// GovernMemory keeps the Go runtime's soft memory limit at the larger of
// base and the live heap plus an eighth plus 8 MiB, following the heap as
// it grows, until stop is called.
//
// Near the limit the runtime collects and returns freed pages to the
// system promptly; without it they linger, and a backup's peak RSS was
// twice its live heap, a check of a million blobs 1.6 times. Following the
// live heap means the limit never sits below what the command holds (a
// big index, a directory of a million entries), where the collector would
// run without pause.
//
// Calls nest: the CLI governs every command with a small base, and a
// backup, restore or check raises it to what it needs while it runs. The
// limit is lifted when the last caller stops. GOMEMLIMIT in the
// environment, or a --max-memory cap, turns it off.
func GovernMemory(base int64) (stop func()) {
	if os.Getenv("GOMEMLIMIT") != "" || capped.Load() > 0 {
		return func() {} // the user's limit (GOMEMLIMIT or --max-memory) stands
	}
	governor.mu.Lock()
	defer governor.mu.Unlock()
	governor.bases = append(governor.bases, base)
	mine := len(governor.bases) - 1
	if governor.done == nil {
		governor.done = make(chan struct{})
		go governor.follow(governor.done)
	}
	governor.setLocked()
	var once sync.Once
	return func() {
		once.Do(func() {
			governor.mu.Lock()
			defer governor.mu.Unlock()
			governor.bases[mine] = 0 // callers may stop out of order
			for len(governor.bases) > 0 && governor.bases[len(governor.bases)-1] == 0 {
				governor.bases = governor.bases[:len(governor.bases)-1]
			}
			if len(governor.bases) == 0 {
				close(governor.done)
				governor.done = nil
				debug.SetMemoryLimit(math.MaxInt64)
				return
			}
			governor.setLocked()
		})
	}
}

// memGovernor is the state of GovernMemory: the bases of the callers
// that have not stopped, and the goroutine that follows the live heap.
type memGovernor struct {
	mu    sync.Mutex
	bases []int64
	done  chan struct{} // closes to stop follow; nil when not running
}

var governor memGovernor

// setLocked sets the limit from the largest base and the live heap;
// governor.mu is held.
func (gv *memGovernor) setLocked() {
	if capped.Load() > 0 {
		return // --max-memory was applied since: its limit stands
	}
	var base int64
	for _, b := range gv.bases {
		base = max(base, b)
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	var live int64
	if sample[0].Value.Kind() == metrics.KindUint64 {
		live = int64(min(sample[0].Value.Uint64(), math.MaxInt64/2))
	}
	debug.SetMemoryLimit(max(base, live+live/8+8<<20))
}

// follow raises or lowers the limit with the live heap ten times a
// second until done closes.
func (gv *memGovernor) follow(done chan struct{}) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			gv.mu.Lock()
			select {
			case <-done:
			default:
				gv.setLocked()
			}
			gv.mu.Unlock()
		case <-done:
			return
		}
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
