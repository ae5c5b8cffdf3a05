package main

import (
	"fmt"
	"time"

	"github.com/cairn-backup/cairn/duration"
)

// count writes n with its noun, singular for one: "1 snapshot", "2
// snapshots". Nouns whose plural is not noun+"s" are not passed here.
func count[N int | int64 | uint64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// shortDuration writes d as people write it: "4h", "1h30m", "12.3s".
func shortDuration(d time.Duration) string { return duration.Short(d) }
