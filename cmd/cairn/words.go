package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/duration"
	"github.com/spf13/pflag"
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

// durationFlag is a flag holding a fixed duration in cairn's grammar
// ("90m", "1d", "2w", "1h30m"), the same as cairn.toml's and
// --keep-within's, so that --retry-lock 1d works where --keep-within 1d
// does; Go's own form ("1h0m0s") is read too. "0" is zero.
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return "0"
	}
	return duration.Short(*f.d)
}

func (f durationFlag) Set(s string) error {
	if s == "0" {
		*f.d = 0
		return nil
	}
	d, err := duration.ParseFixed(s)
	if err != nil {
		if gd, gerr := time.ParseDuration(s); gerr == nil && gd >= 0 {
			*f.d = gd
			return nil
		}
		return err
	}
	*f.d = d
	return nil
}

func (f durationFlag) Type() string { return "duration" }

// durationVar defines a flag of durationFlag.
func durationVar(fs *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var(durationFlag{p}, name, usage)
}
