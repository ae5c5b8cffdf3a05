package engine

import (
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// GovernMemory sets the Go runtime's soft memory limit to the larger of
// base and the live heap plus half (the heap goal at GOGC=50) plus 32 MiB,
// and keeps it there as the heap grows, until stop is called.
//
// Near the limit the runtime returns freed pages to the system promptly;
// without it they linger, and a backup's peak RSS was twice its live heap.
// Following the live heap means the limit never sits below what the
// backup holds (a big index, a directory of a million entries), where the
// collector would run without pause. GOMEMLIMIT in the environment turns
// this off.
func GovernMemory(base int64) (stop func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	set := func() {
		metrics.Read(sample)
		var live int64
		if sample[0].Value.Kind() == metrics.KindUint64 {
			live = int64(min(sample[0].Value.Uint64(), math.MaxInt64/2))
		}
		debug.SetMemoryLimit(max(base, live+live/4+32<<20))
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
