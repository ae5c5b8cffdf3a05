package assurance

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/duration"
	"github.com/cairn-backup/cairn/routine"
)

// RunbookPath is where "cairn runbook" writes a source's runbook by
// default, and where "cairn gate" looks for it.
func RunbookPath(cfg *config.Config, source string) string {
	return filepath.Join(cfg.StateDir, "runbooks", source+".md")
}

// Runbook writes a source's restore runbook in markdown from the
// configuration and the repositories' real state.
func Runbook(cfg *config.Config, src *config.Source, f Facts, now time.Time) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Restore runbook: %s\n\n", src.Name)
	p("Generated %s by `cairn runbook %s` from %s. It is generated from the\n", now.Format("2006-01-02 15:04 MST"), src.Name, cfg.File)
	p("configuration and the repositories: regenerate it after changes.\n\n")
	p("Holds %s. Tier %s: RPO %s, RTO %s.\n\n", strings.Join(src.Paths, ", "), src.Tier, src.RPO, src.RTO)
	p("## Where the backups are\n\n| repository | role | location | snapshots | newest |\n|---|---|---|---|---|\n")
	for i, t := range f.Targets {
		role := map[bool]string{true: "primary", false: "copy"}[i == 0]
		newest := "none"
		switch {
		case t.Error != "":
			newest = "unreadable at generation: " + t.Error
		case !t.Latest.IsZero():
			newest = t.Latest.In(now.Location()).Format("2006-01-02 15:04")
		}
		p("| %s | %s | `%s` | %d | %s |\n", t.Name, role, t.URL, t.Snapshots, newest)
	}
	p("\n## Restore\n\n1. Choose the repository: the primary if it is intact, else a copy\n   (`cairn check` tells). Set it up in the shell:\n\n")
	for _, tn := range src.Targets {
		t := cfg.Repositories[tn]
		p("   ```sh\n   # %s\n   export CAIRN_REPOSITORY=%s\n", tn, routine.ShellQuote([]string{t.URL}))
		switch {
		case t.PasswordFile != "":
			p("   export CAIRN_PASSWORD_FILE=%s\n", routine.ShellQuote([]string{t.PasswordFile}))
		case t.PasswordCommand != "":
			p("   export CAIRN_PASSWORD_COMMAND='...'   # the password-command of repository %s in the configuration\n", tn)
		default:
			p("   # the password: cairn asks for it, or set CAIRN_PASSWORD_FILE\n")
		}
		if t.S3CredentialsFile != "" {
			p("   set -a; . %s; set +a   # S3 credentials\n", routine.ShellQuote([]string{t.S3CredentialsFile}))
		}
		p("   ```\n\n")
	}
	p("2. Look at the snapshots and pick one (`latest`, or an ID):\n\n   ```sh\n   cairn snapshots --tag %s\n   ```\n\n", src.Tag())
	p("3. Restore it:\n\n")
	restoreSteps(&b, src)
	var locked []string
	for i, t := range f.Targets {
		if t.ObjectLock != "" && i < len(src.Targets) {
			locked = append(locked, fmt.Sprintf("%s (%s, %s)", t.Name, t.ObjectLock, t.LockPeriod))
		}
	}
	if len(locked) > 0 {
		p("\n## If a repository was attacked (files deleted or overwritten)\n\n")
		p("Object-locked: %s. Its bucket keeps every version, and no locked one can\nbe deleted. With the maintenance credentials (not this machine's):\n\n", strings.Join(locked, ", "))
		p("1. See what the newest intact state would bring back (damaged versions are\n   skipped and named), or go back to a time before the attack (the last good\n   run in the logs or `cairn status`):\n\n   ```sh\n   cairn repair versions --dry-run\n   cairn repair versions --as-of \"YYYY-MM-DD HH:MM\" --dry-run\n   ```\n\n")
		p("2. Bring it back (the copies are locked with the repository's own mode and\n   period):\n\n   ```sh\n   cairn repair versions --as-of \"YYYY-MM-DD HH:MM\"\n   ```\n\n")
		p("3. Prove it: `cairn check --read-data`, then `cairn prune`, then restore as\n   below. Rotate the backup machine's credentials.\n")
	}
	p("\n## After the restore: checks\n\n")
	if len(src.Drill.Verify) == 0 {
		p("No verify commands are configured (drill.verify); check the application by hand.\n")
	}
	for _, v := range src.Drill.Verify {
		p("- `%s` (with {dir} the restored data)\n", v)
	}
	p("\n## Measured restore time\n\n")
	if len(f.Drills) == 0 {
		p("No restore drill is recorded yet: run `cairn drill %s`.\n", src.Name)
		return b.String()
	}
	d := f.Drills[len(f.Drills)-1]
	p("The last drill, %s, restored %d files (%s bytes) from %s in %s: %s.\n",
		d.Time.In(now.Location()).Format("2006-01-02 15:04"), d.Files, fmt.Sprint(d.Bytes), d.Target,
		duration.Short(time.Duration(d.Duration*1e9)), map[bool]string{true: "passed", false: "FAILED"}[d.Pass])
	if d.Sample {
		p("It was a sample; the full restore is estimated at %s.\n", duration.Short(time.Duration(d.EstimatedDuration*1e9)))
	}
	p("Against the RTO of %s: %s.\n", src.RTO, map[bool]string{true: "within", false: "**over**"}[d.EstimatedDuration <= src.RTODuration.Seconds()])
	return b.String()
}

func restoreSteps(b *strings.Builder, src *config.Source) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	tag := src.Tag()
	switch kind, arg := src.Database(); kind {
	case "sqlite":
		tmp := "/tmp/restore-" + src.Name
		p("   ```sh\n   cairn restore latest --tag %s --target %s --verify\n", tag, tmp)
		p("   # stop the application that writes %s, then:\n", arg)
		p("   rm -f %s-wal %s-shm\n", routine.ShellQuote([]string{arg}), routine.ShellQuote([]string{arg}))
		p("   cp %s %s\n", routine.ShellQuote([]string{filepath.Join(tmp, src.DumpName())}), routine.ShellQuote([]string{arg}))
		p("   sqlite3 %s 'PRAGMA integrity_check'   # must print ok\n   ```\n", routine.ShellQuote([]string{arg}))
	case "command":
		p("   ```sh\n   cairn dump latest --tag %s /%s > %s\n   ```\n\n", tag, src.DumpName(), src.DumpName())
		p("   The dump is the output of `%s`. Load it with the matching tool: `psql -f` for\n", arg)
		p("   pg_dump's plain format, `pg_restore` for its custom format, `mysql <` for mysqldump.\n")
	default:
		p("   ```sh\n   cairn restore latest --tag %s --target /srv/restore --verify\n   ```\n\n", tag)
		p("   The files are then under /srv/restore with their full paths (")
		for i, path := range src.Paths {
			if i > 0 {
				p(", ")
			}
			p("`/srv/restore%s`", path)
		}
		p("); move them into place, or restore\n   straight over the originals with `--target /` (`--overwrite if-changed` resumes an\n   interrupted restore).\n")
	}
}
