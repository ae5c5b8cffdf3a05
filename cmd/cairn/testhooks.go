package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/faulty"
)

// stallEnv names the variable the end-to-end tests use to make pack reads
// stop answering after a number of them, so that a test can interrupt a
// long command at a known point without sleeping: the binary prints
// stallMarker on stderr when the first read stalls, and the test sends its
// signal then. It is not for users, and ops strips CAIRN_TEST_ variables
// from the commands it runs.
const (
	stallEnv     = "CAIRN_TEST_STALL_PACK_LOADS"
	stallSaveEnv = "CAIRN_TEST_STALL_PACK_SAVES" // the same for pack uploads
	stallMarker  = "cairn-test: storage stalled"
	// stallFileEnv names a file created when the storage stalls, for
	// tests of commands whose stderr another cairn process captures.
	stallFileEnv = "CAIRN_TEST_STALL_FILE"
)

// testHooks wraps be as the CAIRN_TEST_ variables ask; without them it
// returns be unchanged.
func (g *globals) testHooks(be backend.Backend) backend.Backend {
	loads, saves := envCount(stallEnv), envCount(stallSaveEnv)
	if loads == 0 && saves == 0 {
		return be
	}
	return faulty.New(be, faulty.Config{StallAfterLoads: loads, StallAfterSaves: saves, StallType: backend.Pack,
		OnStall: func() {
			fmt.Fprintln(g.stderr, stallMarker)
			if f := os.Getenv(stallFileEnv); f != "" {
				_ = os.WriteFile(f, nil, 0o600)
			}
		}})
}

// envCount reads a positive count from the environment, or 0.
func envCount(name string) int {
	n, err := strconv.Atoi(os.Getenv(name))
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// peakEnv asks cairn to print its own peak resident set at exit (the
// kernel's VmHWM), for the memory tests: a child's rusage would count the
// test process, whose memory a vfork-started child inherits.
const peakEnv = "CAIRN_TEST_REPORT_PEAK"

// reportPeak prints "cairn-test: peak rss N kB" on stderr when peakEnv
// is set.
func reportPeak() {
	if os.Getenv(peakEnv) == "" {
		return
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Fprintf(os.Stderr, "cairn-test: peak rss %s\n", strings.TrimSpace(v))
		}
	}
}
