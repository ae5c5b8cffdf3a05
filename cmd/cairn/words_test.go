package main

import (
	"testing"
	"time"
)

func TestWords(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{count(1, "snapshot"), "1 snapshot"},
		{count(0, "snapshot"), "0 snapshots"},
		{count(uint64(3), "file"), "3 files"},
		{count(2, "entry"), "2 entries"},
		{count(1, "entry"), "1 entry"},
		{shortDuration(4 * time.Hour), "4h"},
		{shortDuration(90 * time.Minute), "1h30m"},
		{shortDuration(12345 * time.Millisecond), "12.3s"},
		{shortDuration(61 * time.Second), "1m1s"},
		{flagValue(t, "1d"), "24h"},
		{flagValue(t, "90m"), "1h30m"},
		{flagValue(t, "1h0m0s"), "1h"},
		{flagValue(t, "0"), "0"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func flagValue(t *testing.T, s string) string {
	t.Helper()
	var d time.Duration
	f := durationFlag{&d}
	if err := f.Set(s); err != nil {
		t.Fatalf("Set(%q): %v", s, err)
	}
	return f.String()
}

func TestDurationFlagRefuses(t *testing.T) {
	var d time.Duration
	for _, bad := range []string{"1y", "soon", "-5m"} {
		if err := (durationFlag{&d}).Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}
