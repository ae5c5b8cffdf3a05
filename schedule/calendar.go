package schedule

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// OnCalendar converts a five-field cron expression, or a descriptor such
// as @daily, into a systemd OnCalendar expression. Each field is
// expanded into the explicit values it matches, so steps and ranges need
// no translation. Cron treats a day-of-month and a day-of-week restriction
// as alternatives and systemd as both required, so an expression with both
// is refused.
func OnCalendar(expr string) (string, error) {
	switch strings.TrimSpace(expr) {
	case "@yearly", "@annually":
		return "*-01-01 00:00:00", nil
	case "@monthly":
		return "*-*-01 00:00:00", nil
	case "@weekly":
		return "Sun *-*-* 00:00:00", nil
	case "@daily", "@midnight":
		return "*-*-* 00:00:00", nil
	case "@hourly":
		return "*-*-* *:00:00", nil
	}
	f := strings.Fields(expr)
	if len(f) != 5 {
		return "", fmt.Errorf("schedule %q: want five cron fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly", expr)
	}
	specs := []struct {
		lo, hi int
		names  []string
	}{{0, 59, nil}, {0, 23, nil}, {1, 31, nil},
		{1, 12, []string{"", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
		{0, 7, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"}}}
	out := make([]string, 5)
	for i, s := range specs {
		vals, all, err := cronField(f[i], s.lo, s.hi, s.names)
		if err != nil {
			return "", fmt.Errorf("schedule %q: field %d: %v", expr, i+1, err)
		}
		switch {
		case all:
			out[i] = "*"
		case i == 4:
			out[i] = weekdays(vals)
		default:
			out[i] = joinInts(vals, i < 2)
		}
	}
	if out[2] != "*" && out[4] != "*" {
		return "", fmt.Errorf("schedule %q restricts both the day of the month and the day of the week, which systemd reads differently from cron; use cairn daemon or --cron", expr)
	}
	cal := fmt.Sprintf("*-%s-%s %s:%s:00", out[3], out[2], out[1], out[0])
	if out[4] != "*" {
		cal = out[4] + " " + cal
	}
	return cal, nil
}

// cronField expands one cron field into its values; all reports "*".
func cronField(field string, lo, hi int, names []string) (vals []int, all bool, err error) {
	if field == "*" || field == "?" {
		return nil, true, nil
	}
	set := map[int]bool{}
	for _, part := range strings.Split(field, ",") {
		rng, stepS, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			if step, err = strconv.Atoi(stepS); err != nil || step < 1 {
				return nil, false, fmt.Errorf("bad step %q", stepS)
			}
		}
		a, b := lo, hi
		if rng != "*" {
			as, bs, isRange := strings.Cut(rng, "-")
			if a, err = cronValue(as, lo, hi, names); err != nil {
				return nil, false, err
			}
			b = a
			if isRange {
				if b, err = cronValue(bs, lo, hi, names); err != nil {
					return nil, false, err
				}
			} else if hasStep {
				b = hi
			}
		}
		if a > b {
			return nil, false, fmt.Errorf("range %q runs backwards", rng)
		}
		for v := a; v <= b; v += step {
			set[v] = true
		}
	}
	for v := range set {
		vals = append(vals, v)
	}
	sort.Ints(vals)
	return vals, false, nil
}

func cronValue(s string, lo, hi int, names []string) (int, error) {
	for i, n := range names {
		if n != "" && strings.EqualFold(s, n) {
			return i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("value %q is not in %d-%d", s, lo, hi)
	}
	return v, nil
}

func joinInts(vals []int, pad bool) string {
	var parts []string
	for _, v := range vals {
		if pad {
			parts = append(parts, fmt.Sprintf("%02d", v))
		} else {
			parts = append(parts, strconv.Itoa(v))
		}
	}
	return strings.Join(parts, ",")
}

func weekdays(vals []int) string {
	names := []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	seen := map[int]bool{}
	var parts []string
	for _, v := range vals {
		if v == 7 {
			v = 0
		}
		if !seen[v] {
			seen[v] = true
			parts = append(parts, names[v])
		}
	}
	return strings.Join(parts, ",")
}
