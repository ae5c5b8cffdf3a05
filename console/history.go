package console

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/assurance"
	"github.com/dustin/go-humanize"
)

// Point is one value of a history series.
type Point struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// History is GET /api/history?source=NAME: the series the console plots,
// from the run state (backups) and the drill records.
type History struct {
	Source         string             `json:"source"`
	BackupSeconds  []Point            `json:"backup_seconds"`
	DataAdded      []Point            `json:"data_added_bytes"`
	RepositorySize map[string][]Point `json:"repository_size_bytes"`
	DrillSeconds   []Point            `json:"drill_seconds"`
	// Timeline is every run, drill and check the console knows of,
	// newest first.
	Timeline []TimelineEvent `json:"timeline"`
}

// TimelineEvent is one run, drill or check of a source.
type TimelineEvent struct {
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`   // "run", "drill" or "check"
	Status   string    `json:"status"` // ok, warning, failed; pass, fail
	OK       bool      `json:"ok"`
	Duration float64   `json:"duration_seconds,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) (History, bool) {
	rep, err := s.currentReport(r.Context(), false)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return History{}, false
	}
	name := r.URL.Query().Get("source")
	src := rep.Source(name)
	if src == nil {
		http.Error(w, fmt.Sprintf("no source %q", name), http.StatusNotFound)
		return History{}, false
	}
	h := History{Source: name, BackupSeconds: []Point{}, DataAdded: []Point{}, RepositorySize: map[string][]Point{}, DrillSeconds: []Point{}}
	if st := src.Facts.State; st != nil {
		for _, p := range st.History {
			if p.Duration > 0 {
				h.BackupSeconds = append(h.BackupSeconds, Point{p.Time, p.Duration})
				h.DataAdded = append(h.DataAdded, Point{p.Time, float64(p.DataAdded)})
			}
			for t, size := range p.RepoSize {
				h.RepositorySize[t] = append(h.RepositorySize[t], Point{p.Time, float64(size)})
			}
		}
	}
	for _, d := range src.Facts.Drills {
		h.DrillSeconds = append(h.DrillSeconds, Point{d.Time, d.Duration})
	}
	h.Timeline = timeline(src)
	return h, true
}

// timeline merges a source's runs (run state), drills (drill records) and
// last checks per target (run state), newest first.
func timeline(src *assurance.SourceReport) []TimelineEvent {
	out := []TimelineEvent{}
	if st := src.Facts.State; st != nil {
		for _, p := range st.History {
			ev := TimelineEvent{Time: p.Time, Kind: "run", Status: p.Status, OK: p.Status == "ok" || p.Status == "warning", Duration: p.Duration}
			if p.DataAdded > 0 {
				ev.Detail = humanize.IBytes(p.DataAdded) + " added"
			}
			out = append(out, ev)
		}
		for target, at := range st.LastCheck {
			ok := st.LastCheckOK[target]
			ev := TimelineEvent{Time: at, Kind: "check", Status: map[bool]string{true: "ok", false: "damage found"}[ok], OK: ok,
				Detail: fmt.Sprintf("%s, rolling coverage %.0f%%", target, 100*st.Coverage[target])}
			out = append(out, ev)
		}
	}
	for _, d := range src.Facts.Drills {
		ev := TimelineEvent{Time: d.Time, Kind: "drill", Status: map[bool]string{true: "pass", false: "fail"}[d.Pass], OK: d.Pass,
			Duration: d.Duration, Detail: "from " + d.Target}
		if len(d.Reasons) > 0 {
			ev.Detail += ": " + strings.Join(d.Reasons, "; ")
		}
		out = append(out, ev)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out
}

func (s *Server) apiHistory(w http.ResponseWriter, r *http.Request) {
	if h, ok := s.history(w, r); ok {
		writeJSON(w, h)
	}
}

func (s *Server) historyPage(w http.ResponseWriter, r *http.Request) {
	h, ok := s.history(w, r)
	if !ok {
		return
	}
	charts := []template.HTML{
		chart("backup duration", "s", h.BackupSeconds),
		chart("data added per backup", "B", h.DataAdded),
		chart("drill duration", "s", h.DrillSeconds),
	}
	for t, pts := range h.RepositorySize {
		charts = append(charts, chart("size of "+t, "B", pts))
	}
	csrf, _ := r.Context().Value(ctxKey{}).(string)
	s.render(w, "history.html", map[string]any{"H": h, "Charts": charts, "CSRF": csrf})
}

// chart draws a series as an inline SVG line chart (no script, nothing
// fetched).
func chart(title, unit string, pts []Point) template.HTML {
	const w, hgt, pad = 560.0, 180.0, 36.0
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart"><figcaption>%s</figcaption>`, template.HTMLEscapeString(title))
	if len(pts) == 0 {
		b.WriteString(`<p><small>no data yet</small></p></figure>`)
		return template.HTML(b.String())
	}
	t0, t1 := pts[0].Time, pts[len(pts)-1].Time
	maxv := 0.0
	for _, p := range pts {
		maxv = max(maxv, p.Value)
	}
	if maxv == 0 {
		maxv = 1
	}
	span := t1.Sub(t0).Seconds()
	x := func(t time.Time) float64 {
		if span == 0 {
			return w / 2
		}
		return pad + (w-2*pad)*t.Sub(t0).Seconds()/span
	}
	y := func(v float64) float64 { return hgt - pad/2 - (hgt-pad)*v/maxv }
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s">`, w, hgt, w, hgt, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#8c8f94"/>`, pad, y(0), w-pad, y(0))
	var line []string
	for _, p := range pts {
		line = append(line, fmt.Sprintf("%.1f,%.1f", x(p.Time), y(p.Value)))
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="#2271b1"><title>%s: %s</title></circle>`,
			x(p.Time), y(p.Value), p.Time.Local().Format("2006-01-02 15:04"), value(p.Value, unit))
	}
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#2271b1" stroke-width="1.5" points="%s"/>`, strings.Join(line, " "))
	fmt.Fprintf(&b, `<text x="%.0f" y="12" font-size="11">%s</text>`, pad, value(maxv, unit))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11">%s</text>`, pad, hgt-2, t0.Local().Format("2006-01-02"))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" text-anchor="end">%s</text>`, w-pad, hgt-2, t1.Local().Format("2006-01-02"))
	b.WriteString(`</svg></figure>`)
	return template.HTML(b.String())
}

func value(v float64, unit string) string {
	if unit == "B" {
		return humanizeBytes(v)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}
