package schedule

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/routine"
)

// Job is one scheduled command: a source's run, or its drill.
type Job struct {
	Unit     string // unit base name, such as cairn-app or cairn-drill-app
	Source   string
	Schedule string
	Args     []string // cairn arguments after --config FILE
	What     string   // for descriptions: "backup" or "restore drill"
}

// Jobs lists the scheduled jobs of a configuration.
func Jobs(cfg *config.Config) []Job {
	var jobs []Job
	for _, name := range cfg.SourceNames() {
		s := cfg.Sources[name]
		if s.Schedule != "" {
			jobs = append(jobs, Job{Unit: "cairn-" + name, Source: name, Schedule: s.Schedule, Args: []string{"run", name}, What: "backup"})
		}
		if s.Drill.Schedule != "" {
			jobs = append(jobs, Job{Unit: "cairn-drill-" + name, Source: name, Schedule: s.Drill.Schedule, Args: []string{"drill", name}, What: "restore drill"})
		}
	}
	return jobs
}

// Units returns the systemd service and timer files of a job, by file name.
func Units(j Job, exe, configFile string) (map[string]string, error) {
	cal, err := OnCalendar(j.Schedule)
	if err != nil {
		return nil, err
	}
	args := append([]string{exe, "--config", configFile}, j.Args...)
	service := fmt.Sprintf(`# Written by "cairn schedule install"; "cairn schedule remove" deletes it.
[Unit]
Description=cairn %s of source %s
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=%s
Nice=10
IOSchedulingClass=best-effort
IOSchedulingPriority=7
`, j.What, j.Source, quoteArgs(args))
	timer := fmt.Sprintf(`# Written by "cairn schedule install"; "cairn schedule remove" deletes it.
[Unit]
Description=Schedule of the cairn %s of source %s (%s)

[Timer]
OnCalendar=%s
Persistent=true
RandomizedDelaySec=30

[Install]
WantedBy=timers.target
`, j.What, j.Source, j.Schedule, cal)
	return map[string]string{j.Unit + ".service": service, j.Unit + ".timer": timer}, nil
}

// quoteArgs quotes arguments for a systemd command line.
func quoteArgs(args []string) string {
	var out []string
	for _, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\"'\\$%;") {
			out = append(out, a)
			continue
		}
		a = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`, `%`, `%%`).Replace(a)
		out = append(out, `"`+a+`"`)
	}
	return strings.Join(out, " ")
}

// WriteUnits writes every job's units into dir and returns the timer
// names. Units of sources no longer scheduled are removed.
func WriteUnits(dir string, jobs []Job, exe, configFile string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var timers []string
	keep := map[string]bool{}
	for _, j := range jobs {
		units, err := Units(j, exe, configFile)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", j.Source, err)
		}
		for name, body := range units {
			keep[name] = true
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				return nil, err
			}
		}
		timers = append(timers, j.Unit+".timer")
	}
	old, _ := InstalledUnits(dir)
	for _, name := range old {
		if !keep[name] {
			os.Remove(filepath.Join(dir, name))
		}
	}
	return timers, nil
}

// InstalledUnits lists the unit files cairn wrote in dir.
func InstalledUnits(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, "cairn-") && (strings.HasSuffix(n, ".service") || strings.HasSuffix(n, ".timer")) {
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err == nil && strings.Contains(string(b), `"cairn schedule install"`) {
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// Cron block markers in a crontab.
const (
	cronBegin = "# BEGIN cairn: managed by \"cairn schedule install --cron\""
	cronEnd   = "# END cairn"
)

// CrontabLines returns the crontab entries of the jobs; output goes to a
// log file per job in logDir.
func CrontabLines(jobs []Job, exe, configFile, logDir string) string {
	var b strings.Builder
	b.WriteString(cronBegin + "\n")
	for _, j := range jobs {
		args := append([]string{exe, "--config", configFile}, j.Args...)
		fmt.Fprintf(&b, "%s %s >>%s 2>&1\n", j.Schedule, routine.ShellQuote(args), routine.ShellQuote([]string{filepath.Join(logDir, j.Unit+".log")}))
	}
	b.WriteString(cronEnd + "\n")
	return b.String()
}

// MergeCrontab replaces cairn's block in a crontab (or appends it); an
// empty block removes it.
func MergeCrontab(crontab, block string) string {
	var out []string
	in := false
	for _, line := range strings.Split(strings.TrimRight(crontab, "\n"), "\n") {
		switch {
		case line == cronBegin:
			in = true
		case in && line == cronEnd:
			in = false
		case !in && line != "":
			out = append(out, line)
		}
	}
	s := strings.Join(out, "\n")
	if s != "" {
		s += "\n"
	}
	return s + block
}

// CrontabBlock returns cairn's block of a crontab, or "".
func CrontabBlock(crontab string) string {
	i := strings.Index(crontab, cronBegin)
	if i < 0 {
		return ""
	}
	j := strings.Index(crontab[i:], cronEnd)
	if j < 0 {
		return crontab[i:]
	}
	return crontab[i : i+j+len(cronEnd)+1]
}
