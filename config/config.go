package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Config is a whole configuration file.
type Config struct {
	// StateDir holds run state (last prune, last check, run locks) and the
	// default metrics file. Default: $XDG_STATE_HOME/cairn or
	// ~/.local/state/cairn.
	StateDir string `toml:"state-dir,omitempty"`
	// Host is recorded in snapshots instead of this machine's name.
	Host string `toml:"host,omitempty"`
	// MetricsFile is a Prometheus text file rewritten after every run.
	MetricsFile string `toml:"metrics-file,omitempty"`
	// Notify applies to every source that has no notify table of its own.
	Notify       Notify                 `toml:"notify,omitempty"`
	Daemon       Daemon                 `toml:"daemon,omitempty"`
	Console      Console                `toml:"console,omitempty"`
	Repositories map[string]*Repository `toml:"repositories"`
	Sources      map[string]*Source     `toml:"sources"`

	// File is the path the configuration was read from.
	File string `toml:"-"`
	// Warnings are deprecated forms the file uses, still read as before
	// (FILE:LINE: KEY: what to write instead).
	Warnings Problems `toml:"-"`
}

// Daemon configures "cairn daemon".
type Daemon struct {
	// Listen is the address of the /metrics endpoint, such as
	// 127.0.0.1:9765. Empty: no endpoint.
	Listen string `toml:"listen,omitempty"`
}

// Console configures the web console (cairn serve, cairn daemon).
type Console struct {
	// Listen is the address of cairn serve (default 127.0.0.1:8080).
	Listen string `toml:"listen,omitempty"`
	// TokenFile holds the console's token (written on first start).
	TokenFile string `toml:"token-file,omitempty"`
	// PasswordHash is a bcrypt hash ("cairn config hash-password") of a
	// password the log-in page accepts besides the token.
	PasswordHash string `toml:"password-hash,omitempty"`
	// TLSCert and TLSKey are PEM files: the console serves https.
	TLSCert string `toml:"tls-cert,omitempty"`
	TLSKey  string `toml:"tls-key,omitempty"`
	// FleetTokenFile, on the fleet's console, holds the token other hosts
	// report with; with it, the console's Fleet page shows them.
	FleetTokenFile string `toml:"fleet-token-file,omitempty"`
	// ReportTo, on a host of the fleet, is the URL of the fleet's console,
	// to which cairn daemon and cairn serve post this host's overview
	// every ReportEvery (default 1m), with the token in ReportTokenFile.
	// Passwords and credentials never leave the host.
	ReportTo        string `toml:"report-to,omitempty"`
	ReportTokenFile string `toml:"report-token-file,omitempty"`
	ReportEvery     string `toml:"report-every,omitempty"`
}

// Repository is a named repository.
type Repository struct {
	URL             string `toml:"url"`
	PasswordFile    string `toml:"password-file,omitempty"`
	PasswordCommand string `toml:"password-command,omitempty"`
	// S3CredentialsFile holds KEY=VALUE lines (AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_DEFAULT_REGION).
	// Without it the credentials come from the environment.
	S3CredentialsFile string `toml:"s3-credentials-file,omitempty"`
	// Maintenance says where forget and prune run for this repository:
	// "here" (the default) with S3CredentialsFile, or
	// MaintenanceCredentialsFile when set; "elsewhere" when a maintenance
	// machine does it, so that this machine's credentials need no right
	// to delete (append-only, README "Offsite copies that survive
	// ransomware").
	Maintenance string `toml:"maintenance,omitempty"`
	// MaintenanceCredentialsFile holds the S3 credentials forget and
	// prune use (the same format as S3CredentialsFile).
	MaintenanceCredentialsFile string `toml:"maintenance-credentials-file,omitempty"`
	CACert                     string `toml:"cacert,omitempty"`
	// Quota is the space a bucket may use ("500GiB"): notify when the
	// repository passes 90% of it.
	Quota string `toml:"quota,omitempty"`
	// MinFree is the free space a local repository's filesystem should
	// keep ("10%" or "20GiB"; default 10%): notify below it.
	MinFree string `toml:"min-free,omitempty"`

	// Password is refused: passwords are never written in the file.
	Password string `toml:"password,omitempty"`
	// Name is the repository's key in [repositories].
	Name string `toml:"-"`
}

// MaintainedElsewhere reports whether forget and prune of this repository
// run on another machine.
func (r *Repository) MaintainedElsewhere() bool { return r.Maintenance == "elsewhere" }

// ForMaintenance is the repository as forget and prune use it: with the
// maintenance credentials when it names some.
func (r *Repository) ForMaintenance() *Repository {
	if r.MaintenanceCredentialsFile == "" {
		return r
	}
	m := *r
	m.S3CredentialsFile = r.MaintenanceCredentialsFile
	return &m
}

// Local reports whether the repository is on a local filesystem, and its
// path.
func (r *Repository) Local() (string, bool) {
	switch {
	case strings.HasPrefix(r.URL, "local:"):
		return strings.TrimPrefix(r.URL, "local:"), true
	case strings.HasPrefix(r.URL, "s3:"):
		return "", false
	}
	return r.URL, true
}

// Source is a named asset to protect.
type Source struct {
	// Paths are files and directories, or a single "sqlite:PATH" or
	// "command:DUMP COMMAND" database source.
	Paths []string `toml:"paths"`
	// Filename names a database dump in the snapshot (default: the
	// SQLite file's name, or NAME.dump for a command).
	Filename       string   `toml:"filename,omitempty"`
	Exclude        []string `toml:"exclude,omitempty"`
	ExcludePresets []string `toml:"exclude-presets,omitempty"`
	ExcludeCaches  bool     `toml:"exclude-caches,omitempty"`
	OneFileSystem  bool     `toml:"one-file-system,omitempty"`
	Tags           []string `toml:"tags,omitempty"`
	Tier           string   `toml:"tier,omitempty"`
	RPO            string   `toml:"rpo,omitempty"`
	RTO            string   `toml:"rto,omitempty"`
	// Targets name repositories: the primary first, then copies.
	Targets []string `toml:"targets"`
	// Schedule is a cron expression ("0 * * * *", "@hourly", "@daily").
	Schedule  string    `toml:"schedule,omitempty"`
	Retention Retention `toml:"retention,omitempty"`
	Check     Check     `toml:"check,omitempty"`
	Hooks     Hooks     `toml:"hooks,omitempty"`
	Notify    *Notify   `toml:"notify,omitempty"`
	Drill     Drill     `toml:"drill,omitempty"`

	// Name is the source's key in [sources].
	Name string `toml:"-"`
	// RPODuration and RTODuration are RPO and RTO parsed, with the tier's
	// defaults applied.
	RPODuration time.Duration `toml:"-"`
	RTODuration time.Duration `toml:"-"`
}

// Keep is a keep-N rule's value: a number, or "unlimited".
type Keep = any

// Retention is a forget policy, with restic's rule names, and how often
// prune runs.
type Retention struct {
	KeepLast          Keep     `toml:"keep-last,omitempty"`
	KeepHourly        Keep     `toml:"keep-hourly,omitempty"`
	KeepDaily         Keep     `toml:"keep-daily,omitempty"`
	KeepWeekly        Keep     `toml:"keep-weekly,omitempty"`
	KeepMonthly       Keep     `toml:"keep-monthly,omitempty"`
	KeepYearly        Keep     `toml:"keep-yearly,omitempty"`
	KeepWithin        string   `toml:"keep-within,omitempty"`
	KeepWithinHourly  string   `toml:"keep-within-hourly,omitempty"`
	KeepWithinDaily   string   `toml:"keep-within-daily,omitempty"`
	KeepWithinWeekly  string   `toml:"keep-within-weekly,omitempty"`
	KeepWithinMonthly string   `toml:"keep-within-monthly,omitempty"`
	KeepWithinYearly  string   `toml:"keep-within-yearly,omitempty"`
	KeepTags          []string `toml:"keep-tags,omitempty"`
	// PruneEvery is the least time between prunes (default 24h).
	PruneEvery string `toml:"prune-every,omitempty"`
	MaxUnused  string `toml:"max-unused,omitempty"`
}

// Check says how often a rolling check runs, and how much it reads.
type Check struct {
	// Every is the least time between checks (default 24h).
	Every string `toml:"every,omitempty"`
	// Rolling is the share of packs each check reads (default 10%).
	Rolling string `toml:"rolling,omitempty"`
}

// Hooks are shell commands run around a source's run.
type Hooks struct {
	Before       []string `toml:"before,omitempty"`
	AfterSuccess []string `toml:"after-success,omitempty"`
	AfterFailure []string `toml:"after-failure,omitempty"`
	Finally      []string `toml:"finally,omitempty"`
	// Timeout bounds each hook (default 5m).
	Timeout string `toml:"timeout,omitempty"`
	// PassSecrets keeps CAIRN_PASSWORD* and AWS_* in the hooks'
	// environment; by default they are removed.
	PassSecrets bool `toml:"pass-secrets,omitempty"`
}

// Notify says where to report a run.
type Notify struct {
	// Webhook receives a JSON POST for each event in On.
	Webhook string `toml:"webhook,omitempty"`
	// On lists events: failure, success, rpo-missed, check-failed,
	// storage-full (default: all but success).
	On []string `toml:"on,omitempty"`
	// Ping is a healthchecks-style URL: URL/start, URL, URL/fail.
	Ping string `toml:"ping,omitempty"`
}

// Drill configures restore drills of a source.
type Drill struct {
	// Target is the repository drills restore from (default: the last
	// target, the offsite copy).
	Target string `toml:"target,omitempty"`
	// Verify commands run against the restored data; {dir} is replaced
	// by the restore folder.
	Verify []string `toml:"verify,omitempty"`
	// Schedule is a cron expression for scheduled drills.
	Schedule string `toml:"schedule,omitempty"`
	// Sample restores a random sample of this size instead of all.
	Sample string `toml:"sample,omitempty"`
	// MaxAge is how old the last passing drill may be (default 30d).
	MaxAge string `toml:"max-age,omitempty"`
	// Timeout bounds each verify command (default 10m).
	Timeout string `toml:"timeout,omitempty"`
}

// Events a notification can be sent for.
const (
	EventFailure     = "failure"
	EventSuccess     = "success"
	EventRPOMissed   = "rpo-missed"
	EventCheckFailed = "check-failed"
	EventStorageFull = "storage-full"
)

// Tiers and their default objectives.
var tiers = map[string]struct{ rpo, rto time.Duration }{
	"critical":  {time.Hour, 4 * time.Hour},
	"important": {24 * time.Hour, 24 * time.Hour},
	"archival":  {7 * 24 * time.Hour, 72 * time.Hour},
}

// ErrNoConfig is returned by Load when no configuration file exists.
var ErrNoConfig = errors.New("no configuration file: give --config FILE, or create ./cairn.toml or ~/.config/cairn/cairn.toml")

// Find returns the configuration file to read: explicit if given, then
// ./cairn.toml, then ~/.config/cairn/cairn.toml.
func Find(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	candidates := []string{"cairn.toml"}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".config", "cairn", "cairn.toml"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", ErrNoConfig
}

// Load finds, reads and validates the configuration.
func Load(explicit string) (*Config, error) {
	name, err := Find(explicit)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	c, err := Parse(name, data)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// SourceNames returns the sources' names, sorted.
func (c *Config) SourceNames() []string {
	var names []string
	for n := range c.Sources {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Primary returns a source's primary repository.
func (c *Config) Primary(s *Source) *Repository {
	return c.Repositories[s.Targets[0]]
}

// Copies returns a source's copy targets.
func (c *Config) Copies(s *Source) []*Repository {
	var out []*Repository
	for _, t := range s.Targets[1:] {
		out = append(out, c.Repositories[t])
	}
	return out
}

// NotifyFor returns the notification settings that apply to a source.
func (c *Config) NotifyFor(s *Source) Notify {
	if s.Notify != nil {
		return *s.Notify
	}
	return c.Notify
}

// Wants reports whether n sends event.
func (n Notify) Wants(event string) bool {
	if len(n.On) == 0 {
		return event != EventSuccess
	}
	for _, e := range n.On {
		if e == event {
			return true
		}
	}
	return false
}

// Tag is the tag cairn puts on a source's snapshots, so that forget,
// copy and drills find them.
func (s *Source) Tag() string { return "source=" + s.Name }

// Database returns the database kind ("sqlite" or "command") and its
// argument, or "" for a source of paths.
func (s *Source) Database() (kind, arg string) {
	if len(s.Paths) != 1 {
		return "", ""
	}
	for _, k := range []string{"sqlite", "command"} {
		if rest, ok := strings.CutPrefix(s.Paths[0], k+":"); ok {
			return k, rest
		}
	}
	return "", ""
}

// DumpName is the file name a database source is stored under.
func (s *Source) DumpName() string {
	if s.Filename != "" {
		return s.Filename
	}
	kind, arg := s.Database()
	if kind == "sqlite" {
		return filepath.Base(arg)
	}
	return s.Name + ".dump"
}

// Dir is the directory of the configuration file, absolute: relative
// paths in the file are relative to it, and hooks run in it.
func (c *Config) Dir() string {
	if c.File == "" {
		d, _ := os.Getwd()
		return d
	}
	return filepath.Dir(c.File)
}

// StateDirectory returns the directory for run state.
func (c *Config) StateDirectory() string {
	if c.StateDir != "" {
		return c.StateDir
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "cairn")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "cairn-state")
	}
	return filepath.Join(home, ".local", "state", "cairn")
}
