// Package duration parses the one duration grammar cairn reads everywhere:
// on the command line (--keep-within, --max-age, --retry-lock's kin) and in
// cairn.toml (rpo, keep-within, prune-every, timeouts).
//
// A duration is one or more terms of a number and a unit, largest first:
//
//	y   years          mo  months      w  weeks     d  days
//	h   hours          m   minutes     s  seconds   ms milliseconds
//
// so "m" is minutes wherever it appears, and months take the longer "mo"
// that cannot be mistaken for it: "1y6mo", "90m", "1d12h", "1.5h". Years
// and months are calendar units (a month before 31 March is 29 February or
// 28 February); Fixed durations such as an RPO or a timeout refuse them.
//
// restic's --keep-within grammar read "6m" as six months. ParseRetention
// still reads a span in that old form (only y, m, d and h, at least one of
// them m) as months, and says so in a deprecation warning.
package duration

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Span is a parsed duration: calendar years, months and days, and a fixed
// clock part.
type Span struct {
	Years, Months, Days int
	Clock               time.Duration
}

// IsZero reports whether s is empty.
func (s Span) IsZero() bool { return s == Span{} }

// Before returns t moved back by s: calendar units by the calendar.
func (s Span) Before(t time.Time) time.Time {
	return t.AddDate(-s.Years, -s.Months, -s.Days).Add(-s.Clock)
}

// Fixed returns s as a fixed length, or false when it holds years or
// months, whose length depends on the date.
func (s Span) Fixed() (time.Duration, bool) {
	if s.Years != 0 || s.Months != 0 {
		return 0, false
	}
	return time.Duration(s.Days)*24*time.Hour + s.Clock, true
}

// String formats s in the grammar Parse reads.
func (s Span) String() string {
	var b strings.Builder
	for _, p := range []struct {
		n    int
		unit string
	}{{s.Years, "y"}, {s.Months, "mo"}, {s.Days, "d"}} {
		if p.n != 0 {
			fmt.Fprintf(&b, "%d%s", p.n, p.unit)
		}
	}
	c := s.Clock
	for _, u := range []struct {
		d    time.Duration
		unit string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if n := c / u.d; n != 0 {
			fmt.Fprintf(&b, "%d%s", n, u.unit)
			c -= n * u.d
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

var termRE = regexp.MustCompile(`^(\d+(?:\.\d+)?)(y|mo|w|d|h|ms|m|s)`)

// units in the order terms must come in.
var unitOrder = map[string]int{"y": 0, "mo": 1, "w": 2, "d": 3, "h": 4, "m": 5, "s": 6, "ms": 7}

var clockUnits = map[string]time.Duration{
	"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second, "ms": time.Millisecond,
}

// ErrSyntax is returned (wrapped) for text that is not a duration.
var ErrSyntax = errors.New("not a duration")

// Parse reads a duration in cairn's grammar (see the package comment).
func Parse(text string) (Span, error) {
	bad := func() (Span, error) {
		return Span{}, fmt.Errorf("%q: %w: want terms such as 90m, 1h30m, 7d, 2w or 1y6mo (m is minutes, mo months)", text, ErrSyntax)
	}
	rest := text
	if rest == "" {
		return bad()
	}
	var s Span
	last := -1
	for rest != "" {
		m := termRE.FindStringSubmatch(rest)
		if m == nil {
			return bad()
		}
		rest = rest[len(m[0]):]
		unit := m[2]
		if unitOrder[unit] <= last {
			return bad()
		}
		last = unitOrder[unit]
		n, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return bad()
		}
		switch unit {
		case "y", "mo":
			if n != float64(int(n)) {
				return Span{}, fmt.Errorf("%q: %w: years and months must be whole numbers", text, ErrSyntax)
			}
			if unit == "y" {
				s.Years = int(n)
			} else {
				s.Months = int(n)
			}
		case "d":
			if n == float64(int(n)) {
				s.Days = int(n)
				continue
			}
			s.Clock += time.Duration(n * float64(clockUnits[unit]))
		default:
			s.Clock += time.Duration(n * float64(clockUnits[unit]))
		}
	}
	return s, nil
}

// ParseFixed reads a duration of fixed length (an RPO, an interval, a
// timeout): years and months are refused.
func ParseFixed(text string) (time.Duration, error) {
	s, err := Parse(text)
	if err != nil {
		return 0, err
	}
	d, ok := s.Fixed()
	if !ok {
		return 0, fmt.Errorf("%q: %w: a fixed length is needed here; use days or weeks instead of years and months", text, ErrSyntax)
	}
	return d, nil
}

var legacyRE = regexp.MustCompile(`^(\d+y)?(\d+m)?(\d+d)?(\d+h)?$`)

// ParseRetention reads a --keep-within span. A span in restic's old form,
// where "m" meant months ("6m", "1y6m"), is still read that way, and
// deprecated is then a sentence to show the user; anything else is read by
// Parse.
func ParseRetention(text string) (s Span, deprecated string, err error) {
	if m := legacyRE.FindStringSubmatch(text); m != nil && m[2] != "" {
		for _, part := range m[1:] {
			if part == "" {
				continue
			}
			n, _ := strconv.Atoi(part[:len(part)-1])
			switch part[len(part)-1] {
			case 'y':
				s.Years = n
			case 'm':
				s.Months = n
			case 'd':
				s.Days = n
			case 'h':
				s.Clock = time.Duration(n) * time.Hour
			}
		}
		return s, fmt.Sprintf("%q is read as %s, as restic reads it; \"m\" means minutes in cairn's durations, so write %q (this form will stop being accepted)",
			text, s.describe(), s.String()), nil
	}
	s, err = Parse(text)
	return s, "", err
}

// describe says s in words, for messages.
func (s Span) describe() string {
	var parts []string
	for _, p := range []struct {
		n    int
		unit string
	}{{s.Years, "year"}, {s.Months, "month"}, {s.Days, "day"}} {
		switch {
		case p.n == 1:
			parts = append(parts, "1 "+p.unit)
		case p.n > 1:
			parts = append(parts, fmt.Sprintf("%d %ss", p.n, p.unit))
		}
	}
	if s.Clock != 0 {
		parts = append(parts, s.Clock.String())
	}
	return strings.Join(parts, " ")
}

// Short writes d as people write it: "4h", "1h30m", "2m5s", "12.3s"
// (never "4h0m0s").
func Short(d time.Duration) string {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return Span{Clock: d.Round(time.Second)}.String()
}

// Age writes how long ago something was, to the two largest units: "3d4h",
// "5h10m", "12m", "40s".
func Age(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}
