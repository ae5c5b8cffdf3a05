// Command cairn is a deduplicating, encrypted backup program.
//
// Run "cairn --help" for the commands and README.md for a walk-through.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/cairn-backup/cairn/engine"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	if os.Getenv("GOGC") == "" {
		// Backups churn through large buffers; collecting at 50% growth
		// instead of 100% trades a little CPU for a much lower peak RSS.
		debug.SetGCPercent(50)
	}
	code := memProfiled(func() int {
		return peakProfiled(func() int { return profiled(func() int { return run(os.Args[1:]) }) })
	})
	reportPeak()
	os.Exit(code)
}

// run executes the command line and returns the process exit code.
func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Every command runs under a memory limit that follows its live heap,
	// from its first allocation: opening a repository of a million blobs
	// passes tens of MB of index through memory before any command-level
	// limit would start (check of a million blobs: 367 MB without, 233-287
	// MB with). backup, restore and check raise the base while they run.
	defer engine.GovernMemory(32 << 20)()
	g := &globals{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}
	root := newRootCmd(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return g.exitCode
	}
	code := exitCode(ctx, err)
	if code != exitInterrupted || !errors.Is(err, context.Canceled) {
		fmt.Fprintf(g.stderr, "cairn: %s\n", sentence(err))
	} else {
		fmt.Fprintln(g.stderr, "cairn: interrupted")
	}
	return code
}

// profiled runs f, writing a CPU profile to the file CAIRN_CPU_PROFILE
// names, if set: for measuring where a command spends its time.
func profiled(f func() int) int {
	name := os.Getenv("CAIRN_CPU_PROFILE")
	if name == "" {
		return f()
	}
	out, err := os.Create(name)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cairn: CAIRN_CPU_PROFILE: %v\n", err)
		return f()
	}
	defer out.Close()
	if err := pprof.StartCPUProfile(out); err != nil {
		fmt.Fprintf(os.Stderr, "cairn: CAIRN_CPU_PROFILE: %v\n", err)
		return f()
	}
	defer pprof.StopCPUProfile()
	return f()
}

// peakProfiled runs f and, if CAIRN_PEAK_PROFILE names a file, samples
// the heap in use four times a second and writes an in-use heap profile
// whenever it reaches a new high: the profile left is of the moment the
// command held the most, which is what its peak memory is made of.
func peakProfiled(f func() int) int {
	name := os.Getenv("CAIRN_PEAK_PROFILE")
	if name == "" {
		return f()
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		var high uint64
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse <= high {
				continue
			}
			high = ms.HeapInuse
			out, err := os.Create(name)
			if err == nil {
				err = pprof.Lookup("heap").WriteTo(out, 0)
				if cerr := out.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "cairn: CAIRN_PEAK_PROFILE: %v\n", err)
				return
			}
		}
	}()
	code := f()
	close(done)
	<-stopped
	return code
}

// memProfiled runs f, then writes a heap profile to the file
// CAIRN_MEM_PROFILE names, if set. Its alloc_space view shows which code
// allocates the most bytes over the whole command.
func memProfiled(f func() int) int {
	name := os.Getenv("CAIRN_MEM_PROFILE")
	code := f()
	if name == "" {
		return code
	}
	out, err := os.Create(name)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(out, 0)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cairn: CAIRN_MEM_PROFILE: %v\n", err)
	}
	return code
}
