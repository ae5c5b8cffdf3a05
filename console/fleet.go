package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// The fleet: several hosts, each running its own daemon with its own
// credentials and passwords, report their overview to one console, which
// shows every host's sources side by side. A report holds what
// GET /api/overview shows (no password, key or S3 secret ever is): the
// credentials stay on each host. Hosts authenticate with the fleet token,
// which is not the console's own token: it can post reports, never read
// anything.

// FleetReport is what a host posts to POST /api/fleet/report.
type FleetReport struct {
	Host     string   `json:"host"`
	Every    float64  `json:"report_every_seconds"` // how often the host reports
	Overview Overview `json:"overview"`
}

// FleetHost is one host of GET /api/fleet.
type FleetHost struct {
	Host     string      `json:"host"`
	Received time.Time   `json:"received"`
	Stale    bool        `json:"stale"` // no report for three intervals: the host or its daemon may be down
	Local    bool        `json:"local"` // this console's own host
	Sources  []SourceRow `json:"sources"`
}

// Fleet is GET /api/fleet: every host, this one first, then by name.
type Fleet struct {
	Time  time.Time   `json:"time"`
	Hosts []FleetHost `json:"hosts"`
}

// maxFleetHosts bounds the hosts a console keeps, and maxFleetReport a
// report's size, so that a holder of the fleet token cannot make the
// console use unbounded memory.
const (
	maxFleetHosts  = 1000
	maxFleetReport = 4 << 20
)

var hostRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

type fleetEntry struct {
	received time.Time
	report   FleetReport
}

// fleetReport is POST /api/fleet/report, with the fleet token as bearer.
func (s *Server) fleetReport(w http.ResponseWriter, r *http.Request) {
	a := r.Header.Get("Authorization")
	ok, limited := s.attempt(r, func() bool {
		return s.opts.FleetToken != "" && strings.HasPrefix(a, "Bearer ") && equal(strings.TrimPrefix(a, "Bearer "), s.opts.FleetToken)
	})
	switch {
	case limited:
		http.Error(w, "too many failed attempts; wait and try again", http.StatusTooManyRequests)
		return
	case !ok:
		http.Error(w, "a fleet report needs the fleet token", http.StatusUnauthorized)
		return
	}
	var rep FleetReport
	if err := json.NewDecoder(io.LimitReader(r.Body, maxFleetReport)).Decode(&rep); err != nil {
		http.Error(w, "not a fleet report: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !hostRE.MatchString(rep.Host) {
		http.Error(w, "a fleet report names its host with letters, digits, '.', '_' and '-'", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.fleet[rep.Host]; !known && len(s.fleet) >= maxFleetHosts {
		http.Error(w, fmt.Sprintf("this console keeps at most %d hosts", maxFleetHosts), http.StatusInsufficientStorage)
		return
	}
	s.fleet[rep.Host] = fleetEntry{received: s.opts.Now(), report: rep}
	w.WriteHeader(http.StatusNoContent)
}

// fleetView gathers this console's own sources and the hosts' reports.
func (s *Server) fleetView(ctx context.Context) (Fleet, error) {
	now := s.opts.Now()
	out := Fleet{Time: now, Hosts: []FleetHost{}}
	rep, err := s.currentReport(ctx, false)
	if err != nil {
		return out, err
	}
	s.mu.Lock()
	for host, e := range s.fleet {
		if host == s.opts.Host {
			continue // this host reports to itself: its own view is fresher
		}
		every := time.Duration(e.report.Every * float64(time.Second))
		if every <= 0 {
			every = time.Minute
		}
		out.Hosts = append(out.Hosts, FleetHost{Host: host, Received: e.received, Stale: now.Sub(e.received) > 3*every,
			Sources: nonNilRows(e.report.Overview.Sources)})
	}
	s.mu.Unlock()
	sort.Slice(out.Hosts, func(i, j int) bool { return out.Hosts[i].Host < out.Hosts[j].Host })
	local := FleetHost{Host: s.opts.Host, Received: rep.Time, Local: true, Sources: nonNilRows(overview(rep).Sources)}
	out.Hosts = append([]FleetHost{local}, out.Hosts...)
	return out, nil
}

func nonNilRows(rows []SourceRow) []SourceRow {
	if rows == nil {
		return []SourceRow{}
	}
	return rows
}

func (s *Server) apiFleet(w http.ResponseWriter, r *http.Request) {
	f, err := s.fleetView(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, f)
}

func (s *Server) fleetPage(w http.ResponseWriter, r *http.Request) {
	f, err := s.fleetView(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	csrf, _ := r.Context().Value(ctxKey{}).(string)
	s.render(w, "fleet.html", map[string]any{"F": f, "CSRF": csrf})
}

// Overview gathers this console's overview, as GET /api/overview returns
// it: what a host reports to the fleet's console.
func (s *Server) Overview(ctx context.Context) (Overview, error) {
	rep, err := s.currentReport(ctx, false)
	if err != nil {
		return Overview{}, err
	}
	return overview(rep), nil
}

// Reporter posts a host's overview to the fleet's console every Every,
// first at once. It gives up on nothing: a console that is down gets the
// next report.
type Reporter struct {
	URL   string // the fleet console's base URL
	Token string // the fleet token
	Host  string
	Every time.Duration
	// Overview gathers the host's overview; Client sends (http.Client
	// when nil); Log is told about failed reports.
	Overview func(ctx context.Context) (Overview, error)
	Client   *http.Client
	Log      func(format string, args ...any)
}

// Run reports until ctx ends.
func (rp *Reporter) Run(ctx context.Context) {
	t := time.NewTicker(rp.Every)
	defer t.Stop()
	for {
		if err := rp.Send(ctx); err != nil && ctx.Err() == nil && rp.Log != nil {
			rp.Log("fleet: report to %s: %v\n", rp.URL, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Send posts one report.
func (rp *Reporter) Send(ctx context.Context) error {
	o, err := rp.Overview(ctx)
	if err != nil {
		return err
	}
	body, err := json.Marshal(FleetReport{Host: rp.Host, Every: rp.Every.Seconds(), Overview: o})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(rp.URL, "/")+"/api/fleet/report", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+rp.Token)
	req.Header.Set("Content-Type", "application/json")
	c := rp.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}
