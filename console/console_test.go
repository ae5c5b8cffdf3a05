package console

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/assurance"
	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/routine"
	"golang.org/x/crypto/bcrypt"
)

// twoSources is a report of two sources: app within its RPO and go, db
// past its RPO.
func twoSources() *assurance.Report {
	now := time.Now()
	rep := &assurance.Report{Time: now, Config: "/etc/cairn/cairn.toml"}
	for _, c := range []struct {
		name string
		last time.Time
	}{{"app", now.Add(-10 * time.Minute)}, {"db", now.Add(-5 * time.Hour)}} {
		src := &config.Source{Name: c.name, Tier: "critical", RPO: "1h", RPODuration: time.Hour, RTO: "4h", RTODuration: 4 * time.Hour,
			Targets: []string{"local"}, Paths: []string{"/srv/" + c.name}}
		f := assurance.Facts{Targets: []assurance.TargetFacts{{Name: "local", Latest: c.last, Snapshots: 3}},
			State: &routine.State{LastRun: c.last, LastStatus: "ok", LastSuccess: c.last, RepoSize: map[string]uint64{"local": 123 << 20},
				History: []routine.RunPoint{
					{Time: c.last.Add(-2 * time.Hour), Status: "ok", Duration: 12, DataAdded: 5 << 20, RepoSize: map[string]uint64{"local": 100 << 20}},
					{Time: c.last, Status: "ok", Duration: 9, DataAdded: 1 << 20, RepoSize: map[string]uint64{"local": 123 << 20}}}}}
		rep.Sources = append(rep.Sources, assurance.SourceReport{Source: src, Facts: f, Audit: assurance.Audit(src, f, now)})
	}
	return rep
}

func newTestServer(t *testing.T) (*httptest.Server, *int) {
	t.Helper()
	gathered := 0
	s := New(Options{Token: "s3cret-token", Report: func(context.Context) (*assurance.Report, error) {
		gathered++
		return twoSources(), nil
	}})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, &gathered
}

func get(t *testing.T, c *http.Client, u string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAuthentication(t *testing.T) {
	srv, _ := newTestServer(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, _ := get(t, noRedirect, srv.URL+"/api/overview"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API without a token: %d", resp.StatusCode)
	}
	if resp, _ := get(t, noRedirect, srv.URL+"/api/overview", "Authorization", "Bearer wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with a wrong token: %d", resp.StatusCode)
	}
	if resp, _ := get(t, noRedirect, srv.URL+"/"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("page without a session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := get(t, noRedirect, srv.URL+"/api/overview", "Authorization", "Bearer s3cret-token")
	var o Overview
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &o) != nil || len(o.Sources) != 2 {
		t.Fatalf("API with the token: %d %s", resp.StatusCode, body)
	}
	if o.Sources[0].Source != "app" || o.Sources[0].RPOMissed || !o.Sources[1].RPOMissed || o.Sources[1].Verdict != "no-go" {
		t.Errorf("overview %+v", o.Sources)
	}
	if strings.Contains(body, "password") || strings.Contains(body, "SECRET") {
		t.Errorf("the API leaks secrets: %s", body)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
}

func TestLoginSessionCSRFAndRateLimit(t *testing.T) {
	srv, _ := newTestServer(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	// Failed logins are limited: after five, even the right token waits.
	for i := 0; i < 5; i++ {
		resp, err := c.PostForm(srv.URL+"/login", url.Values{"token": {"guess"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if !strings.Contains(resp.Request.URL.String(), "error=") {
			t.Errorf("failed login %d ended at %s", i, resp.Request.URL)
		}
	}
	resp, err := c.PostForm(srv.URL+"/login", url.Values{"token": {"s3cret-token"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("login after five failures: %d, want 429", resp.StatusCode)
	}

	// A fresh client logs in and sees the overview, db marked RPO MISSED.
	srv2, gathered := newTestServer(t)
	jar2, _ := cookiejar.New(nil)
	c2 := &http.Client{Jar: jar2}
	resp, err = c2.PostForm(srv2.URL+"/login", url.Values{"token": {"s3cret-token"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	html := string(page)
	if !strings.Contains(html, `id="source-db"`) || !strings.Contains(html, "RPO MISSED") || !strings.Contains(html, "within RPO") {
		t.Fatalf("overview page:\n%s", html)
	}
	for _, ck := range jar2.Cookies(resp.Request.URL) {
		if ck.Name == SessionCookie && ck.Value == "s3cret-token" {
			t.Error("the session cookie is the token itself")
		}
	}
	// A state-changing request needs the page's CSRF token.
	req, _ := http.NewRequest(http.MethodPost, srv2.URL+"/api/refresh", nil)
	resp, err = c2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("refresh without the CSRF token: %d", resp.StatusCode)
	}
	csrf := between(html, `<meta name="csrf" content="`, `"`)
	req, _ = http.NewRequest(http.MethodPost, srv2.URL+"/api/refresh", nil)
	req.Header.Set("X-CSRF-Token", csrf)
	before := *gathered
	resp, err = c2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || *gathered != before+1 {
		t.Errorf("refresh with the CSRF token: %d, gathered %d times (before %d)", resp.StatusCode, *gathered, before)
	}
	if _, body := get(t, c2, srv2.URL+"/audit"); !strings.Contains(body, "# Backup compliance audit") {
		t.Errorf("audit page:\n%s", body)
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	return s[:strings.Index(s, b)]
}

// An action started with the CSRF-free bearer token streams its lines and
// outcome as server-sent events; unknown kinds and sources are refused.
func TestActionEvents(t *testing.T) {
	release := make(chan struct{})
	s := New(Options{Token: "s3cret-token", Sources: []string{"app"},
		Report: func(context.Context) (*assurance.Report, error) { return twoSources(), nil },
		Act: func(ctx context.Context, kind, source string, log io.Writer) (bool, string, error) {
			io.WriteString(log, "app: backup local: ok\n")
			<-release
			io.WriteString(log, "app: verify local: ok\n")
			return true, kind + " ok", nil
		}})
	srv := httptest.NewServer(s)
	defer srv.Close()
	post := func(body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/actions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer s3cret-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for _, bad := range []string{`{"kind":"format","source":"app"}`, `{"kind":"run","source":"nope"}`, `not json`} {
		if resp := post(bad); resp.StatusCode < 400 {
			t.Errorf("%s: %d", bad, resp.StatusCode)
		}
	}
	resp := post(`{"kind":"run","source":"app"}`)
	var started struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || started.ID == "" {
		t.Fatalf("start: %d %+v", resp.StatusCode, started)
	}
	got := readEvents(t, srv.URL+"/api/actions/"+started.ID+"/events", func(line string) {
		if line == `data: "app: backup local: ok"` {
			close(release) // the first line arrived before the action ended
		}
	})
	want := []string{"event: line", `data: "app: backup local: ok"`, "event: line", `data: "app: verify local: ok"`,
		"event: done", `data: {"ok":true,"summary":"run ok"}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The history of a source: its series as JSON, and a page of SVG charts.
func TestHistory(t *testing.T) {
	srv, _ := newTestServer(t)
	c := &http.Client{}
	resp, body := get(t, c, srv.URL+"/api/history?source=app", "Authorization", "Bearer s3cret-token")
	var h History
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &h) != nil || len(h.BackupSeconds) != 2 || h.BackupSeconds[1].Value != 9 ||
		len(h.RepositorySize["local"]) != 2 || h.DataAdded[0].Value != 5<<20 {
		t.Fatalf("history: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, c, srv.URL+"/api/history?source=nope", "Authorization", "Bearer s3cret-token"); resp.StatusCode != 404 {
		t.Errorf("history of an unknown source: %d", resp.StatusCode)
	}
	_, page := get(t, c, srv.URL+"/history?source=app", "Authorization", "Bearer s3cret-token")
	if strings.Count(page, "<svg") != 3 || !strings.Contains(page, "no data yet") || !strings.Contains(page, "size of local") {
		t.Errorf("history page:\n%s", page)
	}
	// The timeline has both runs, newest first, with their durations.
	if len(h.Timeline) != 2 || h.Timeline[0].Kind != "run" || !h.Timeline[0].Time.After(h.Timeline[1].Time) || h.Timeline[0].Duration != 9 {
		t.Errorf("timeline %+v", h.Timeline)
	}
	if strings.Count(page, `class="event-run"`) != 2 || !strings.Contains(page, "1.0 MiB added") {
		t.Errorf("history page's timeline:\n%s", page)
	}
}

// The log-in page also takes the password whose bcrypt hash the
// configuration holds; a wrong one is refused.
func TestPasswordLogin(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse battery"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Token: "s3cret-token", PasswordHash: string(hash),
		Report: func(context.Context) (*assurance.Report, error) { return twoSources(), nil }})
	srv := httptest.NewServer(s)
	defer srv.Close()
	for pw, want := range map[string]bool{"correct horse battery": true, "wrong horse": false} {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		resp, err := c.PostForm(srv.URL+"/login", url.Values{"token": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := !strings.Contains(resp.Request.URL.String(), "/login"); got != want {
			t.Errorf("log in with %q: ended at %s", pw, resp.Request.URL)
		}
	}
}

// Failed attempts are limited under concurrency: 30 wrong log-ins sent at
// once (each checked against a bcrypt hash, the slow path) and 40 wrong
// bearer tokens sent at once get at most the allowance of 5 checked in
// all; the rest are answered 429 without a comparison. The clock stands
// still, so no attempt is refilled during the test.
func TestLimitHoldsUnderConcurrency(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse battery"), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	newServer := func() *httptest.Server {
		s := New(Options{Token: "s3cret-token", PasswordHash: string(hash), Now: func() time.Time { return now },
			Report: func(context.Context) (*assurance.Report, error) { return twoSources(), nil }})
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		return srv
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	burst := func(n int, send func() (*http.Response, error)) map[int]int {
		t.Helper()
		codes := make(chan int, n)
		start := make(chan struct{})
		for range n {
			go func() {
				<-start
				resp, err := send()
				if err != nil {
					codes <- -1
					return
				}
				resp.Body.Close()
				codes <- resp.StatusCode
			}()
		}
		close(start)
		got := map[int]int{}
		for range n {
			got[<-codes]++
		}
		return got
	}

	srv := newServer()
	got := burst(30, func() (*http.Response, error) {
		return noRedirect.PostForm(srv.URL+"/login", url.Values{"token": {"wrong horse"}})
	})
	if got[http.StatusSeeOther] != 5 || got[http.StatusTooManyRequests] != 25 {
		t.Errorf("30 concurrent wrong log-ins answered %v, want 5 checked (303) and 25 refused (429)", got)
	}
	// The allowance is spent: the right token waits too.
	resp, err := noRedirect.PostForm(srv.URL+"/login", url.Values{"token": {"s3cret-token"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("log-in after the burst: %d, want 429", resp.StatusCode)
	}

	srv = newServer()
	got = burst(40, func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/overview", nil)
		req.Header.Set("Authorization", "Bearer wrong")
		return noRedirect.Do(req)
	})
	if got[http.StatusUnauthorized] != 5 || got[http.StatusTooManyRequests] != 35 {
		t.Errorf("40 concurrent wrong bearer tokens answered %v, want 5 checked (401) and 35 refused (429)", got)
	}

	// A right token gives its attempt back: a client using the token
	// is never limited by its own successes.
	srv = newServer()
	for i := range 20 {
		if resp, _ := get(t, noRedirect, srv.URL+"/api/overview", "Authorization", "Bearer s3cret-token"); resp.StatusCode != 200 {
			t.Fatalf("request %d with the right token: %d", i, resp.StatusCode)
		}
	}
}

// A state-changing request from another origin is refused even with a
// valid session and CSRF token: by Origin, by Sec-Fetch-Site, and by
// Referer from a browser that sends neither. The same request from the
// console's own origin, or from a client that sends none (curl), passes.
func TestCrossOriginRefused(t *testing.T) {
	srv, _ := newTestServer(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(srv.URL+"/login", url.Values{"token": {"s3cret-token"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := between(string(page), `<meta name="csrf" content="`, `"`)
	if csrf == "" {
		t.Fatal("no CSRF token on the overview page")
	}
	for _, tc := range []struct {
		header, value string
		want          int
	}{
		{"Origin", "https://evil.example", http.StatusForbidden},
		{"Sec-Fetch-Site", "cross-site", http.StatusForbidden},
		{"Referer", "https://evil.example/page", http.StatusForbidden},
		{"Origin", srv.URL, http.StatusOK},
		{"Referer", srv.URL + "/", http.StatusOK},
		{"", "", http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/refresh", nil)
		req.Header.Set("X-CSRF-Token", csrf)
		if tc.header != "" {
			req.Header.Set(tc.header, tc.value)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("refresh with %s %q: %d, want %d", tc.header, tc.value, resp.StatusCode, tc.want)
		}
	}
	// A log-in from another origin (login CSRF) is refused as well.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader("token=s3cret-token"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err = noRedirect.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("log-in from another origin: %d, want 403", resp.StatusCode)
	}
}

// Hosts post their overview with the fleet token (not the console's
// token, which a report cannot use, nor can the fleet token read); the
// fleet view lists this console's host first, then the others with their
// sources, and marks a host that stopped reporting.
func TestFleet(t *testing.T) {
	now := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := New(Options{Token: "s3cret-token", FleetToken: "fleet-token-123", Host: "central", Now: clock,
		Report: func(context.Context) (*assurance.Report, error) { return twoSources(), nil }})
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx := context.Background()
	for _, host := range []string{"web2", "web1"} {
		rp := &Reporter{URL: srv.URL, Token: "fleet-token-123", Host: host, Every: time.Minute,
			Overview: func(context.Context) (Overview, error) {
				return Overview{Sources: []SourceRow{{Source: "site-" + host, Verdict: "go", Targets: []Target{}, Reasons: []string{}}}}, nil
			}}
		if err := rp.Send(ctx); err != nil {
			t.Fatalf("report from %s: %v", host, err)
		}
	}
	bad := &Reporter{URL: srv.URL, Token: "s3cret-token", Host: "evil", Every: time.Minute,
		Overview: func(context.Context) (Overview, error) { return Overview{}, nil }}
	if err := bad.Send(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a report with the console's token: %v, want 401", err)
	}
	if resp, _ := get(t, http.DefaultClient, srv.URL+"/api/fleet", "Authorization", "Bearer fleet-token-123"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("reading the fleet with the fleet token: %d, want 401", resp.StatusCode)
	}
	read := func() Fleet {
		t.Helper()
		resp, body := get(t, http.DefaultClient, srv.URL+"/api/fleet", "Authorization", "Bearer s3cret-token")
		var f Fleet
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &f) != nil {
			t.Fatalf("fleet: %d %s", resp.StatusCode, body)
		}
		return f
	}
	f := read()
	var hosts []string
	for _, h := range f.Hosts {
		hosts = append(hosts, h.Host)
	}
	if strings.Join(hosts, " ") != "central web1 web2" || !f.Hosts[0].Local || len(f.Hosts[0].Sources) != 2 ||
		f.Hosts[1].Sources[0].Source != "site-web1" || f.Hosts[1].Stale {
		t.Fatalf("fleet %+v", f)
	}
	now = now.Add(4 * time.Minute) // three intervals without a report
	if f := read(); !f.Hosts[1].Stale || !f.Hosts[2].Stale {
		t.Errorf("hosts silent for four minutes of one-minute reports are not stale: %+v", f.Hosts)
	}
	_, page := get(t, http.DefaultClient, srv.URL+"/fleet", "Authorization", "Bearer s3cret-token")
	if !strings.Contains(page, `id="host-web1"`) || !strings.Contains(page, "site-web2") || !strings.Contains(page, "is its daemon running?") {
		t.Errorf("fleet page:\n%s", page)
	}
}

// A restore action's progress streams as "progress" events while it runs
// (and GET /api/actions/{id} has the last one).
func TestActionProgress(t *testing.T) {
	release := make(chan struct{})
	s := New(Options{Token: "s3cret-token", Targets: []string{"local"},
		Report: func(context.Context) (*assurance.Report, error) { return twoSources(), nil },
		Restore: func(ctx context.Context, target, snap, p, dest string, log io.Writer, progress func(ActionProgress)) (bool, string, error) {
			progress(ActionProgress{FilesDone: 3, TotalFiles: 10, BytesDone: 300, TotalBytes: 1000})
			<-release
			progress(ActionProgress{FilesDone: 10, TotalFiles: 10, BytesDone: 1000, TotalBytes: 1000})
			return true, "restored 10 files", nil
		}})
	srv := httptest.NewServer(s)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/restore", strings.NewReader(`{"target":"local","snapshot":"latest","path":"/","dest":"/tmp/x"}`))
	req.Header.Set("Authorization", "Bearer s3cret-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var started struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	got := readEvents(t, srv.URL+"/api/actions/"+started.ID+"/events", func(line string) {
		if strings.HasPrefix(line, `data: {"files_done":3`) {
			_, state := get(t, http.DefaultClient, srv.URL+"/api/actions/"+started.ID, "Authorization", "Bearer s3cret-token")
			if !strings.Contains(state, `"progress":{"files_done":3,"total_files":10,"bytes_done":300,"total_bytes":1000}`) {
				t.Errorf("action state while running: %s", state)
			}
			close(release) // the progress arrived while the action ran
		}
	})
	want := []string{"event: progress", `data: {"files_done":3,"total_files":10,"bytes_done":300,"total_bytes":1000}`,
		"event: progress", `data: {"files_done":10,"total_files":10,"bytes_done":1000,"total_bytes":1000}`,
		"event: done", `data: {"ok":true,"summary":"restored 10 files"}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// readEvents reads the server-sent events at url to their end, with the
// console's token, and returns their non-empty lines; each is also given
// to seen as it arrives.
func readEvents(t *testing.T, url string, seen func(line string)) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer s3cret-token")
	ev, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Body.Close()
	rd := bufio.NewReader(ev.Body)
	var got []string
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return got
		}
		if line = strings.TrimSpace(line); line != "" {
			got = append(got, line)
			seen(line)
		}
	}
}
