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
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
