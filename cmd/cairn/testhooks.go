package main

import (
	"fmt"
	"os"
	"strconv"

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
	stallEnv    = "CAIRN_TEST_STALL_PACK_LOADS"
	stallMarker = "cairn-test: storage stalled"
)

// testHooks wraps be as the CAIRN_TEST_ variables ask; without them it
// returns be unchanged.
func (g *globals) testHooks(be backend.Backend) backend.Backend {
	v := os.Getenv(stallEnv)
	if v == "" {
		return be
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return be
	}
	return faulty.New(be, faulty.Config{StallAfterLoads: n, StallType: backend.Pack, OnStall: func() {
		fmt.Fprintln(g.stderr, stallMarker)
	}})
}
