package engine

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestGovernMemory checks that the memory limit starts at the base, rises
// above a live heap larger than the base (so the collector does not run
// without pause), and is lifted again by stop.
func TestGovernMemory(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetMemoryLimit(math.MaxInt64)
	const base = 8 << 20
	stop := GovernMemory(base)
	if got := debug.SetMemoryLimit(-1); got < base {
		t.Fatalf("limit %d below the base %d", got, base)
	}
	live := make([]byte, 64<<20)
	for i := range live {
		live[i] = byte(i)
	}
	runtime.GC() // the live heap is measured by the last collection
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) < 64<<20+64<<17 { // the live heap and an eighth
		if time.Now().After(deadline) {
			t.Fatalf("limit %d did not follow a live heap of 64 MiB", debug.SetMemoryLimit(-1))
		}
		time.Sleep(20 * time.Millisecond)
	}
	runtime.KeepAlive(live)
	stop()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limit %d after stop, want none", got)
	}

	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(1 << 30)
	GovernMemory(base)()
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("limit %d with GOMEMLIMIT set, want it untouched", got)
	}
}

// TestGovernMemoryNests checks that nested callers raise the limit to the
// largest base in force, and that it is lifted only when the last stops.
func TestGovernMemoryNests(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetMemoryLimit(math.MaxInt64)
	outer := GovernMemory(300 << 20)
	inner := GovernMemory(600 << 20)
	if got := debug.SetMemoryLimit(-1); got < 600<<20 {
		t.Errorf("limit %d with a base of 600 MiB in force", got)
	}
	inner()
	inner() // a second stop changes nothing
	if got := debug.SetMemoryLimit(-1); got < 300<<20 || got >= 600<<20 {
		t.Errorf("limit %d after the inner caller stopped, want the outer base of 300 MiB (the live heap is small)", got)
	}
	outer()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limit %d after every caller stopped, want none", got)
	}
	// Out of order: the first stops before the second.
	a, b := GovernMemory(500<<20), GovernMemory(200<<20)
	a()
	if got := debug.SetMemoryLimit(-1); got >= 500<<20 || got < 200<<20 {
		t.Errorf("limit %d after the larger base stopped first", got)
	}
	b()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limit %d after both stopped, want none", got)
	}
}

func TestPlanMemory(t *testing.T) {
	const pack = 16 << 20
	if _, err := PlanMemory(64<<20, pack); err == nil {
		t.Error("a cap below two uploads and two filling packs was accepted")
	}
	p, err := PlanMemory(128<<20, pack)
	if err != nil || p.Connections != 4 || p.ReadConcurrency != 2 || p.PackCache != 0 {
		t.Errorf("128 MiB: %+v %v", p, err)
	}
	p, err = PlanMemory(1<<30, pack)
	if err != nil || p.Connections != 16 || p.ReadConcurrency != 0 || p.PackCache != RestorePackCache {
		t.Errorf("1 GiB: %+v %v", p, err)
	}
	if p, _ := PlanMemory(200<<20, pack); p.Connections != 4 || p.PackCache != 0 {
		t.Errorf("200 MiB: %+v", p)
	}
}
