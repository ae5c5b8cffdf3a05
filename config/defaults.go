package config

import (
	"path/filepath"
	"time"

	"github.com/cairn-backup/cairn/duration"
)

// presets are named lists of exclude patterns.
var presets = map[string][]string{
	// dev leaves out version-control metadata, dependency folders and
	// build caches that can be recreated.
	"dev": {".git", "node_modules", "__pycache__", "*.pyc", ".venv", ".tox", ".pytest_cache",
		".mypy_cache", ".gradle", ".cache", "**/.next/cache"},
}

// Preset returns the patterns of a named exclude preset.
func Preset(name string) []string { return presets[name] }

// mustDuration parses a duration validation has already accepted.
func mustDuration(s string) time.Duration {
	d, _ := duration.ParseFixed(s)
	return d
}

// formatDuration prints d in the grammar of package duration, with days
// where it has whole days.
func formatDuration(d time.Duration) string {
	return duration.Span{Days: int(d / (24 * time.Hour)), Clock: d % (24 * time.Hour)}.String()
}

// applyDefaults fills in what the file leaves out, so that the result is
// the complete configuration cairn acts on.
//
// Every relative path in the file is relative to the file's directory,
// whatever the working directory: repository paths, password and
// credentials files, CA certificates, the state directory, the metrics
// file and source paths. Hooks and drill verify commands run in that
// directory too (Config.Dir).
func applyDefaults(c *Config) {
	base := c.Dir()
	rel := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	rel(&c.StateDir)
	c.StateDir = c.StateDirectory()
	rel(&c.MetricsFile)
	rel(&c.Console.TokenFile)
	rel(&c.Console.TLSCert)
	rel(&c.Console.FleetTokenFile)
	rel(&c.Console.ReportTokenFile)
	rel(&c.Console.TLSKey)
	if c.MetricsFile == "" {
		c.MetricsFile = filepath.Join(c.StateDir, "cairn.prom")
	}
	for name, r := range c.Repositories {
		r.Name = name
		if r.MinFree == "" {
			r.MinFree = "10%"
		}
		if p, ok := r.Local(); ok && !filepath.IsAbs(p) {
			r.URL = filepath.Join(base, p)
		}
		rel(&r.PasswordFile)
		rel(&r.S3CredentialsFile)
		rel(&r.MaintenanceCredentialsFile)
		rel(&r.CACert)
	}
	for _, s := range c.Sources {
		sourceDefaults(s, base)
	}
}

func sourceDefaults(s *Source, base string) {
	if s.Tier == "" {
		s.Tier = "important"
	}
	t := tiers[s.Tier]
	if s.RPO == "" {
		s.RPO = formatDuration(t.rpo)
	}
	if s.RTO == "" {
		s.RTO = formatDuration(t.rto)
	}
	s.RPODuration, s.RTODuration = mustDuration(s.RPO), mustDuration(s.RTO)
	if kind, arg := s.Database(); kind == "sqlite" && !filepath.IsAbs(arg) {
		s.Paths[0] = "sqlite:" + filepath.Join(base, arg)
	} else if kind == "" {
		for i, p := range s.Paths {
			if !filepath.IsAbs(p) {
				s.Paths[i] = filepath.Join(base, p)
			}
		}
	}
	for _, p := range s.ExcludePresets {
		s.Exclude = append(s.Exclude, presets[p]...)
		// Directories marked with CACHEDIR.TAG are build caches too.
		s.ExcludeCaches = s.ExcludeCaches || p == "dev"
	}
	s.ExcludePresets = nil
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&s.Retention.PruneEvery, "1d")
	def(&s.Retention.MaxUnused, "5%")
	def(&s.Check.Every, "1d")
	def(&s.Check.Rolling, "10%")
	def(&s.Hooks.Timeout, "5m")
	def(&s.Drill.MaxAge, "30d")
	def(&s.Drill.Timeout, "10m")
	def(&s.Drill.Target, s.Targets[len(s.Targets)-1])
}

// HasRetention reports whether any keep rule is set.
func (r Retention) HasRetention() bool {
	return r.KeepLast != nil || r.KeepHourly != nil || r.KeepDaily != nil || r.KeepWeekly != nil ||
		r.KeepMonthly != nil || r.KeepYearly != nil || r.KeepWithin != "" || r.KeepWithinHourly != "" ||
		r.KeepWithinDaily != "" || r.KeepWithinWeekly != "" || r.KeepWithinMonthly != "" ||
		r.KeepWithinYearly != "" || len(r.KeepTags) > 0
}

// ForgetArgs returns the forget options of the policy.
func (r Retention) ForgetArgs() []string {
	var args []string
	for _, o := range []struct{ flag, val string }{
		{"--keep-last", keepString(r.KeepLast)}, {"--keep-hourly", keepString(r.KeepHourly)},
		{"--keep-daily", keepString(r.KeepDaily)}, {"--keep-weekly", keepString(r.KeepWeekly)},
		{"--keep-monthly", keepString(r.KeepMonthly)}, {"--keep-yearly", keepString(r.KeepYearly)},
		{"--keep-within", r.KeepWithin}, {"--keep-within-hourly", r.KeepWithinHourly},
		{"--keep-within-daily", r.KeepWithinDaily}, {"--keep-within-weekly", r.KeepWithinWeekly},
		{"--keep-within-monthly", r.KeepWithinMonthly}, {"--keep-within-yearly", r.KeepWithinYearly},
	} {
		if o.val != "" {
			args = append(args, o.flag, o.val)
		}
	}
	for _, t := range r.KeepTags {
		args = append(args, "--keep-tag", t)
	}
	return args
}

// Duration returns a duration setting validation has accepted, such as
// Check.Every.
func Duration(s string) time.Duration { return mustDuration(s) }
