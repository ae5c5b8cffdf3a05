package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cairn-backup/cairn/duration"
	"github.com/dustin/go-humanize"
	"github.com/robfig/cron/v3"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func (v *validator) config(c *Config) {
	if len(c.Repositories) == 0 {
		v.errorf("repositories", "no repositories defined: add a [repositories.NAME] table with a url")
	}
	if len(c.Sources) == 0 {
		v.errorf("sources", "no sources defined: add a [sources.NAME] table with paths and targets")
	}
	v.notify("notify", &c.Notify)
	v.console(&c.Console)
	for _, name := range sortedKeys(c.Repositories) {
		v.repository("repositories."+name, name, c.Repositories[name])
	}
	for _, name := range sortedKeys(c.Sources) {
		v.source("sources."+name, name, c.Sources[name], c)
	}
}

func sortedKeys[T any](m map[string]T) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (v *validator) repository(key, name string, r *Repository) {
	if !nameRE.MatchString(name) {
		v.errorf(key, "repository names use letters, digits, '.', '_' and '-'")
	}
	switch {
	case r.URL == "":
		v.errorf(key, "url is missing")
	case strings.HasPrefix(r.URL, "s3:"):
		u, err := url.Parse(strings.TrimPrefix(r.URL, "s3:"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(strings.Trim(u.Path, "/")) == 0 {
			v.errorf(key+".url", "want s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX]")
		}
	}
	if r.Password != "" {
		v.errorf(key+".password", "passwords are never written in the configuration: use password-file or password-command")
	}
	if r.PasswordFile != "" && r.PasswordCommand != "" {
		v.errorf(key, "give password-file or password-command, not both")
	}
	if r.Quota != "" {
		v.size(key+".quota", r.Quota)
	}
	switch r.Maintenance {
	case "", "here", "elsewhere":
	default:
		v.errorf(key+".maintenance", "want here or elsewhere")
	}
	if r.Maintenance == "elsewhere" && r.MaintenanceCredentialsFile != "" {
		v.errorf(key, "maintenance = \"elsewhere\" needs no maintenance-credentials-file on this machine")
	}
	if r.MinFree != "" && !strings.HasSuffix(r.MinFree, "%") {
		v.size(key+".min-free", r.MinFree)
	} else if r.MinFree != "" {
		v.percent(key+".min-free", r.MinFree)
	}
}

func (v *validator) console(c *Console) {
	if c.PasswordHash != "" && !strings.HasPrefix(c.PasswordHash, "$2") {
		v.errorf("console.password-hash", "want a bcrypt hash (cairn config hash-password prints one), never the password itself")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		v.errorf("console", "give tls-cert and tls-key together")
	}
	if c.ReportTo != "" {
		if u, err := url.Parse(c.ReportTo); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.errorf("console.report-to", "want the fleet console's URL, http(s)://HOST[:PORT]")
		}
		if c.ReportTokenFile == "" {
			v.errorf("console", "report-to needs report-token-file, the file holding the fleet token")
		}
	}
	v.duration("console.report-every", c.ReportEvery)
}

func (v *validator) source(key, name string, s *Source, c *Config) {
	if !nameRE.MatchString(name) {
		v.errorf(key, "source names use letters, digits, '.', '_' and '-'")
	}
	s.Name = name
	switch {
	case len(s.Paths) == 0:
		v.errorf(key, "paths is missing: list files and directories, or one sqlite:PATH or command:COMMAND")
	case len(s.Paths) > 1:
		for _, p := range s.Paths {
			if strings.HasPrefix(p, "sqlite:") || strings.HasPrefix(p, "command:") {
				v.errorf(key+".paths", "a database source (%s) must be the source's only path; give it a source of its own", p)
			}
		}
	default:
		if kind, arg := s.Database(); kind != "" && strings.TrimSpace(arg) == "" {
			v.errorf(key+".paths", "%s: is missing its %s", kind, map[string]string{"sqlite": "file", "command": "command"}[kind])
		}
	}
	for _, p := range s.ExcludePresets {
		if _, ok := presets[p]; !ok {
			v.errorf(key+".exclude-presets", "unknown preset %q (known: %s)", p, strings.Join(sortedKeys(presets), ", "))
		}
	}
	if _, ok := tiers[s.Tier]; s.Tier != "" && !ok {
		v.errorf(key+".tier", "unknown tier %q: want critical, important or archival", s.Tier)
	}
	v.duration(key+".rpo", s.RPO)
	v.duration(key+".rto", s.RTO)
	v.targets(key, s, c)
	v.schedule(key+".schedule", s.Schedule)
	v.retention(key+".retention", &s.Retention)
	v.duration(key+".check.every", s.Check.Every)
	if s.Check.Rolling != "" {
		v.percent(key+".check.rolling", s.Check.Rolling)
	}
	v.duration(key+".hooks.timeout", s.Hooks.Timeout)
	if s.Notify != nil {
		v.notify(key+".notify", s.Notify)
	}
	v.drill(key+".drill", &s.Drill, c)
}

func (v *validator) targets(key string, s *Source, c *Config) {
	if len(s.Targets) == 0 {
		v.errorf(key, "targets is missing: name the primary repository, then any copies")
	}
	seen := map[string]bool{}
	for _, t := range s.Targets {
		if _, ok := c.Repositories[t]; !ok {
			v.errorf(key+".targets", "unknown repository %q", t)
		}
		if seen[t] {
			v.errorf(key+".targets", "repository %q is named twice", t)
		}
		seen[t] = true
	}
}

func (v *validator) drill(key string, d *Drill, c *Config) {
	if d.Target != "" {
		if _, ok := c.Repositories[d.Target]; !ok {
			v.errorf(key+".target", "unknown repository %q", d.Target)
		}
	}
	v.schedule(key+".schedule", d.Schedule)
	v.duration(key+".max-age", d.MaxAge)
	v.duration(key+".timeout", d.Timeout)
	if d.Sample != "" {
		v.size(key+".sample", d.Sample)
	}
}

func (v *validator) retention(key string, r *Retention) {
	for _, n := range []struct {
		name string
		val  Keep
	}{
		{"keep-last", r.KeepLast}, {"keep-hourly", r.KeepHourly}, {"keep-daily", r.KeepDaily},
		{"keep-weekly", r.KeepWeekly}, {"keep-monthly", r.KeepMonthly}, {"keep-yearly", r.KeepYearly},
	} {
		s := keepString(n.val)
		if s == "" || s == "unlimited" {
			continue
		}
		if i, err := strconv.Atoi(s); err != nil || i < 0 {
			v.errorf(key+"."+n.name, "%v: want a number or \"unlimited\"", n.val)
		}
	}
	for _, w := range []struct{ name, val string }{
		{"keep-within", r.KeepWithin}, {"keep-within-hourly", r.KeepWithinHourly},
		{"keep-within-daily", r.KeepWithinDaily}, {"keep-within-weekly", r.KeepWithinWeekly},
		{"keep-within-monthly", r.KeepWithinMonthly}, {"keep-within-yearly", r.KeepWithinYearly},
	} {
		if w.val == "" {
			continue
		}
		if _, deprecated, err := duration.ParseRetention(w.val); err != nil {
			v.errorf(key+"."+w.name, "%v", err)
		} else if deprecated != "" {
			v.warnf(key+"."+w.name, "%s", deprecated)
		}
	}
	v.duration(key+".prune-every", r.PruneEvery)
	if r.MaxUnused != "" {
		if r.MaxUnused != "0" && r.MaxUnused != "unlimited" && r.MaxUnused != "0%" {
			v.percent(key+".max-unused", r.MaxUnused)
		}
	}
}

var events = []string{EventFailure, EventSuccess, EventRPOMissed, EventCheckFailed, EventStorageFull}

func (v *validator) notify(key string, n *Notify) {
	for _, u := range []struct{ name, val string }{{"webhook", n.Webhook}, {"ping", n.Ping}} {
		if u.val == "" {
			continue
		}
		p, err := url.Parse(u.val)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			v.errorf(key+"."+u.name, "want an http:// or https:// URL")
		}
	}
	for _, e := range n.On {
		if !slices.Contains(events, e) {
			v.errorf(key+".on", "unknown event %q (known: %s)", e, strings.Join(events, ", "))
		}
	}
}

func (v *validator) duration(key, s string) {
	if s == "" {
		return
	}
	if d, err := duration.ParseFixed(s); err != nil {
		v.errorf(key, "%v", err)
	} else if d <= 0 {
		v.errorf(key, "%q: must be positive", s)
	}
}

func (v *validator) size(key, s string) {
	if n, err := humanize.ParseBytes(s); err != nil || n == 0 {
		v.errorf(key, "%q: want a size such as 500GiB", s)
	}
}

func (v *validator) percent(key, s string) {
	if _, err := ParsePercent(s); err != nil {
		v.errorf(key, "%v", err)
	}
}

func (v *validator) schedule(key, s string) {
	if s == "" {
		return
	}
	if _, err := ParseSchedule(s); err != nil {
		v.errorf(key, "%v", err)
	}
}

// ParseSchedule parses a standard five-field cron expression or a
// descriptor such as @hourly or @daily.
func ParseSchedule(s string) (cron.Schedule, error) {
	if strings.HasPrefix(s, "@every") {
		return nil, fmt.Errorf("schedule %q: @every is not supported (it has no calendar form for systemd); use a cron expression", s)
	}
	sched, err := cron.ParseStandard(s)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %v", s, err)
	}
	return sched, nil
}

// keepString formats a keep-N value as the forget option takes it.
func keepString(k Keep) string {
	switch k := k.(type) {
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(k, 10)
	case string:
		return k
	}
	return fmt.Sprint(k) + "?"
}

// ParsePercent parses "10%" into 10.
func ParsePercent(s string) (float64, error) {
	p, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || !strings.HasSuffix(s, "%") || p <= 0 || p > 100 {
		return 0, fmt.Errorf("%q: want a percentage such as 10%%", s)
	}
	return p, nil
}
