package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/assurance"
	"github.com/cairn-backup/cairn/duration"
	"github.com/dustin/go-humanize"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"
)

//go:embed assets
var assets embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return duration.Age(time.Since(t)) + " ago"
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.Local().Format("2006-01-02 15:04")
	},
	"pct":  func(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) },
	"secs": func(s float64) string { return duration.Short(time.Duration(s * float64(time.Second))) },
	"count": func(n int, noun string) string {
		if n == 1 {
			return "1 " + noun
		}
		return fmt.Sprintf("%d %ss", n, noun)
	},
	"size": func(v any) string {
		switch n := v.(type) {
		case uint64:
			return humanize.IBytes(n)
		case *uint64:
			if n != nil {
				return humanize.IBytes(*n)
			}
		}
		return ""
	},
}).ParseFS(assets, "assets/*.html"))

// Options configure a console.
type Options struct {
	// Token authenticates requests: "Authorization: Bearer TOKEN", or
	// exchanged at /login for a session cookie.
	Token string
	// PasswordHash, when set, is a bcrypt hash of a password the log-in
	// page accepts besides the token.
	PasswordHash string
	// Report gathers the audit of every source (assurance.AuditSources).
	Report func(ctx context.Context) (*assurance.Report, error)
	// ReportTTL is how long a report is reused (default 30 s).
	ReportTTL time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Targets name the configured repositories; Open opens one.
	Targets []string
	Open    Opener
	// Sources name the configured sources; Act performs an action for
	// one, under Background (the server's life, not a request's).
	Sources    []string
	Act        Actor
	Background context.Context
	// Restore restores a path of a snapshot into a folder on the server.
	Restore Restorer
	// Host names this console's host on the fleet page, and FleetToken,
	// when set, lets other hosts post their overview to
	// POST /api/fleet/report (see Reporter).
	Host       string
	FleetToken string
}

// Server is the console's HTTP handler.
type Server struct {
	opts     Options
	mux      *http.ServeMux
	mu       sync.Mutex
	sessions map[string]session
	report   *assurance.Report
	reportAt time.Time
	logins   map[string]*rate.Limiter // failed logins per client address
	actions  map[string]*Action
	fleet    map[string]fleetEntry // the other hosts' last reports, by host
}

type session struct {
	csrf    string
	expires time.Time
}

// SessionCookie is the name of the console's session cookie.
const SessionCookie = "cairn_session"

// New returns a console serving opts.
func New(opts Options) *Server {
	if opts.ReportTTL == 0 {
		opts.ReportTTL = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Background == nil {
		opts.Background = context.Background()
	}
	if opts.Host == "" {
		opts.Host = "this host"
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), sessions: map[string]session{}, logins: map[string]*rate.Limiter{},
		actions: map[string]*Action{}, fleet: map[string]fleetEntry{}}
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.Handle("GET /assets/", http.FileServerFS(assets))
	s.mux.HandleFunc("GET /{$}", s.auth(s.overviewPage))
	s.mux.HandleFunc("GET /audit", s.auth(s.auditPage))
	s.mux.HandleFunc("GET /api/overview", s.auth(s.apiOverview))
	s.mux.HandleFunc("GET /api/audit", s.auth(s.apiAudit))
	s.mux.HandleFunc("POST /api/refresh", s.auth(s.csrf(s.apiRefresh)))
	s.mux.HandleFunc("GET /snapshots", s.auth(s.snapshotsPage))
	s.mux.HandleFunc("GET /browse", s.auth(s.browsePage))
	s.mux.HandleFunc("GET /api/snapshots", s.auth(s.apiSnapshots))
	s.mux.HandleFunc("GET /api/tree", s.auth(s.apiTree))
	s.mux.HandleFunc("GET /api/download", s.auth(s.download))
	s.mux.HandleFunc("GET /history", s.auth(s.historyPage))
	s.mux.HandleFunc("GET /api/history", s.auth(s.apiHistory))
	s.mux.HandleFunc("POST /api/actions", s.auth(s.csrf(s.startAction)))
	s.mux.HandleFunc("POST /api/restore", s.auth(s.csrf(s.startRestore)))
	s.mux.HandleFunc("GET /api/actions/{id}", s.auth(s.actionState))
	s.mux.HandleFunc("GET /api/actions/{id}/events", s.auth(s.actionEvents))
	s.mux.HandleFunc("GET /actions/{id}", s.auth(s.actionPage))
	s.mux.HandleFunc("POST /logout", s.auth(s.csrf(s.logout)))
	s.mux.HandleFunc("POST /api/fleet/report", s.fleetReport)
	s.mux.HandleFunc("GET /api/fleet", s.auth(s.apiFleet))
	s.mux.HandleFunc("GET /fleet", s.auth(s.fleetPage))
	return s
}

// NewToken returns a random token for a console started without one.
func NewToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ServeHTTP serves the console with security headers on every answer,
// and refuses a state-changing request from another origin.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if err := sameOrigin(r); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// crossOrigin is the standard library's check of Sec-Fetch-Site and
// Origin against the request's host.
var crossOrigin = http.NewCrossOriginProtection()

// sameOrigin refuses a state-changing request (any method but GET, HEAD
// and OPTIONS) that a browser says comes from another origin: by
// Sec-Fetch-Site, by Origin, or, from a browser that sends neither, by
// Referer. A request with none of them (curl, a script) is not a
// browser's, and cannot carry a victim's cookie by accident.
func sameOrigin(r *http.Request) error {
	if err := crossOrigin.Check(r); err != nil {
		return errors.New("refused: a state-changing request from another origin")
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if r.Header.Get("Sec-Fetch-Site") != "" || r.Header.Get("Origin") != "" {
		return nil // judged by crossOrigin
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		if err != nil || u.Host != r.Host {
			return errors.New("refused: a state-changing request from another origin")
		}
	}
	return nil
}

// authorized reports whether r carries the token or a live session, and
// that session's CSRF token ("" for a bearer token: no cookie, no CSRF).
// A bearer token is one attempt against the address's allowance, as a
// log-in is: limited is true when none is left, before any comparison.
func (s *Server) authorized(r *http.Request) (ok bool, csrf string, limited bool) {
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		ok, limited := s.attempt(r, func() bool { return equal(strings.TrimPrefix(a, "Bearer "), s.opts.Token) })
		return ok, "", limited
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return false, "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[c.Value]
	if !ok || s.opts.Now().After(sess.expires) {
		delete(s.sessions, c.Value)
		return false, "", false
	}
	return true, sess.csrf, false
}

// attempt checks a credential against the allowance of r's address in
// one atomic step: an attempt is reserved before check runs, so that
// attempts sent at the same time cannot all be checked while the
// failures of the first are not yet counted; a right credential gives its
// reservation back. limited is true, and check is not run, when the
// allowance is spent.
func (s *Server) attempt(r *http.Request, check func() bool) (ok, limited bool) {
	now := s.opts.Now()
	res := s.limiter(r).ReserveN(now, 1)
	if !res.OK() || res.DelayFrom(now) > 0 {
		res.CancelAt(now)
		return false, true
	}
	if check() {
		res.CancelAt(now)
		return true, false
	}
	return false, false
}

type ctxKey struct{}

// auth lets authenticated requests through; pages send the others to
// /login, API calls get 401.
func (s *Server) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ok, csrf, limited := s.authorized(r)
		if limited {
			http.Error(w, "too many failed attempts; wait and try again", http.StatusTooManyRequests)
			return
		}
		if !ok {
			if strings.HasPrefix(r.URL.Path, "/api/") || r.Method != http.MethodGet {
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, csrf)))
	}
}

// csrf refuses a state-changing request of a session without its CSRF
// token in the X-CSRF-Token header or the csrf form field. Bearer-token
// requests carry no cookie, so they need none.
func (s *Server) csrf(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		want, _ := r.Context().Value(ctxKey{}).(string)
		if want != "" {
			got := r.Header.Get("X-CSRF-Token")
			if got == "" {
				got = r.PostFormValue("csrf")
			}
			if !equal(got, want) {
				http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
				return
			}
		}
		next(w, r)
	}
}

func equal(a, b string) bool {
	return b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// limiter is the failed-attempt allowance of a client address (log-ins
// and bearer tokens together): a burst of 5, then one every 10 seconds.
func (s *Server) limiter(r *http.Request) *rate.Limiter {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.logins[host]
	if l == nil {
		l = rate.NewLimiter(rate.Every(10*time.Second), 5)
		s.logins[host] = l
	}
	return l
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, "login.html", map[string]any{"Error": r.URL.Query().Get("error")})
}

// login exchanges the token (or the password) for a session cookie
// (HttpOnly, SameSite Strict, 12 hours). Failed attempts are limited per
// address (attempt).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	given := r.PostFormValue("token")
	ok, limited := s.attempt(r, func() bool {
		return equal(given, s.opts.Token) ||
			s.opts.PasswordHash != "" && bcrypt.CompareHashAndPassword([]byte(s.opts.PasswordHash), []byte(given)) == nil
	})
	if limited {
		http.Error(w, "too many failed logins; wait and try again", http.StatusTooManyRequests)
		return
	}
	if !ok {
		http.Redirect(w, r, "/login?error=wrong+token", http.StatusSeeOther)
		return
	}
	id, csrf := NewToken(), NewToken()
	s.mu.Lock()
	s.sessions[id] = session{csrf: csrf, expires: s.opts.Now().Add(12 * time.Hour)}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: 12 * 3600})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// currentReport returns the audit, gathered afresh when older than the TTL
// (or with force).
func (s *Server) currentReport(ctx context.Context, force bool) (*assurance.Report, error) {
	s.mu.Lock()
	rep, at := s.report, s.reportAt
	s.mu.Unlock()
	if rep != nil && !force && s.opts.Now().Sub(at) < s.opts.ReportTTL {
		return rep, nil
	}
	rep, err := s.opts.Report(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.report, s.reportAt = rep, s.opts.Now()
	s.mu.Unlock()
	return rep, nil
}

// SourceRow is one source of the overview (GET /api/overview).
type SourceRow struct {
	Source      string    `json:"source"`
	Tier        string    `json:"tier"`
	RPO         string    `json:"rpo"`
	RTO         string    `json:"rto"`
	LastBackup  time.Time `json:"last_backup,omitzero"`
	RPOMissed   bool      `json:"rpo_missed"`
	LastDrill   time.Time `json:"last_drill,omitzero"`
	DrillPassed bool      `json:"drill_passed"`
	DrillWithin bool      `json:"drill_within_rto"`
	Coverage    float64   `json:"rolling_coverage"`
	Targets     []Target  `json:"targets"`
	Verdict     string    `json:"verdict"`
	Reasons     []string  `json:"reasons"`
}

// Target is a target repository of a source in the overview.
type Target struct {
	Name      string    `json:"name"`
	Snapshots int       `json:"snapshots"`
	Latest    time.Time `json:"latest,omitzero"`
	Size      uint64    `json:"size,omitempty"`
	Error     string    `json:"error,omitempty"`
	Immutable bool      `json:"immutable"`
	// ObjectLock is the repository's lock mode ("" for none), and
	// Protection what protects it from this machine, as the audit's probe
	// found it ("compliance lock", "governance lock", "append-only
	// credentials"...; "" for nothing, or not probed).
	ObjectLock string `json:"object_lock,omitempty"`
	Protection string `json:"protection,omitempty"`
}

// Overview is GET /api/overview.
type Overview struct {
	Time    time.Time   `json:"time"`
	Config  string      `json:"config"`
	Sources []SourceRow `json:"sources"`
}

func overview(rep *assurance.Report) Overview {
	out := Overview{Time: rep.Time, Config: rep.Config, Sources: []SourceRow{}}
	for _, s := range rep.Status() {
		src := rep.Source(s.Source)
		row := SourceRow{Source: s.Source, Tier: s.Audit.Tier, RPO: s.Audit.RPO, RTO: s.Audit.RTO, LastBackup: s.LastSuccess,
			RPOMissed: s.RPOMissed, Coverage: s.Audit.CheckCoverage, Verdict: s.Audit.Verdict, Reasons: s.Audit.Reasons, Targets: []Target{}}
		if row.Reasons == nil {
			row.Reasons = []string{}
		}
		if d := s.Audit.LastDrill; d != nil {
			row.LastDrill, row.DrillPassed, row.DrillWithin = d.Time, d.Pass, d.WithinRTO
		}
		if src != nil {
			for _, t := range src.Facts.Targets {
				tg := Target{Name: t.Name, Snapshots: t.Snapshots, Latest: t.Latest, Error: t.Error, Immutable: t.Immutable(),
					ObjectLock: t.ObjectLock, Protection: t.Protection}
				if src.Facts.State != nil {
					tg.Size = src.Facts.State.RepoSize[t.Name]
				}
				row.Targets = append(row.Targets, tg)
			}
		}
		out.Sources = append(out.Sources, row)
	}
	sort.Slice(out.Sources, func(i, j int) bool { return out.Sources[i].Source < out.Sources[j].Source })
	return out
}

func (s *Server) apiOverview(w http.ResponseWriter, r *http.Request) {
	rep, err := s.currentReport(r.Context(), false)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, overview(rep))
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request) {
	rep, err := s.currentReport(r.Context(), false)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, rep.JSON())
}

func (s *Server) apiRefresh(w http.ResponseWriter, r *http.Request) {
	rep, err := s.currentReport(r.Context(), true)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, overview(rep))
}

func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request) {
	rep, err := s.currentReport(r.Context(), false)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	csrf, _ := r.Context().Value(ctxKey{}).(string)
	s.render(w, "overview.html", map[string]any{"O": overview(rep), "CSRF": csrf})
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	rep, err := s.currentReport(r.Context(), false)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var audits []*assurance.SourceAudit
	for _, src := range rep.Sources {
		audits = append(audits, src.Audit)
	}
	csrf, _ := r.Context().Value(ctxKey{}).(string)
	var sections []auditSection
	for _, a := range audits {
		sections = append(sections, auditSection{A: a, Rows: assurance.AuditRows(a, rep.Time)})
	}
	s.render(w, "audit.html", map[string]any{"Sections": sections, "Config": rep.Config, "Time": rep.Time, "CSRF": csrf,
		"Markdown": assurance.AuditMarkdown(audits, rep.Config, rep.Time)})
}

// auditSection is one source on the audit page: the audit and its rows.
type auditSection struct {
	A    *assurance.SourceAudit
	Rows []assurance.AuditRow
}

func (s *Server) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func humanizeBytes(v float64) string { return humanize.IBytes(uint64(max(v, 0))) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
