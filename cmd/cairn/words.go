package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/duration"
)

// count writes n with its noun, singular for one: "1 snapshot", "2
// snapshots", "3 entries".
func count[N int | int64 | uint64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// shortDuration writes d as people write it: "4h", "1h30m", "12.3s".
func shortDuration(d time.Duration) string { return duration.Short(d) }
