package duration

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Span
	}{
		{"90m", Span{Clock: 90 * time.Minute}},
		{"6m", Span{Clock: 6 * time.Minute}},
		{"1h30m", Span{Clock: 90 * time.Minute}},
		{"1.5h", Span{Clock: 90 * time.Minute}},
		{"7d", Span{Days: 7}},
		{"2w", Span{Clock: 14 * 24 * time.Hour}},
		{"1d12h", Span{Days: 1, Clock: 12 * time.Hour}},
		{"1y6mo", Span{Years: 1, Months: 6}},
		{"6mo", Span{Months: 6}},
		{"30s", Span{Clock: 30 * time.Second}},
		{"250ms", Span{Clock: 250 * time.Millisecond}},
	} {
		got, err := Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "7", "d", "-1d", "1d2y", "1m1h", "1.5mo", "soon", "1h 30m", "6M"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestParseFixed(t *testing.T) {
	if d, err := ParseFixed("1d12h"); err != nil || d != 36*time.Hour {
		t.Errorf("ParseFixed(1d12h) = %v, %v", d, err)
	}
	if _, err := ParseFixed("1mo"); err == nil || !strings.Contains(err.Error(), "fixed length") {
		t.Errorf("ParseFixed(1mo): %v", err)
	}
}

// restic's "6m" means months in --keep-within: still read so, with a
// deprecation warning; the new grammar has no such ambiguity.
func TestParseRetention(t *testing.T) {
	s, dep, err := ParseRetention("1y6m")
	if err != nil || s != (Span{Years: 1, Months: 6}) || !strings.Contains(dep, `write "1y6mo"`) {
		t.Errorf("ParseRetention(1y6m) = %+v, %q, %v", s, dep, err)
	}
	for in, want := range map[string]Span{"6mo": {Months: 6}, "7d": {Days: 7}, "36h": {Clock: 36 * time.Hour}, "2y": {Years: 2}} {
		s, dep, err := ParseRetention(in)
		if err != nil || s != want || dep != "" {
			t.Errorf("ParseRetention(%q) = %+v, %q, %v", in, s, dep, err)
		}
	}
}

func TestSpan(t *testing.T) {
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	if got := (Span{Months: 1, Clock: time.Hour}).Before(now); !got.Equal(time.Date(2026, 3, 3, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("Before = %v", got) // AddDate normalises 31 February to 3 March
	}
	for _, in := range []string{"1y6mo", "7d", "90m", "1d12h"} {
		s, _ := Parse(in)
		back, err := Parse(s.String())
		if err != nil || back != s {
			t.Errorf("%q formats as %q, which parses to %+v", in, s.String(), back)
		}
	}
}

func TestShort(t *testing.T) {
	for d, want := range map[time.Duration]string{4 * time.Hour: "4h", 90 * time.Minute: "1h30m", 12345 * time.Millisecond: "12.3s", 61 * time.Second: "1m1s"} {
		if got := Short(d); got != want {
			t.Errorf("Short(%v) = %q, want %q", d, got, want)
		}
	}
}
