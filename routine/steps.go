package routine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/message"
	"github.com/dustin/go-humanize"
)

// backupArgs returns the backup command for the source, and the file to
// feed it on standard input (a SQLite copy), if any.
func (rn *run) backupArgs() (args []string, stdin string, cleanup func(), err error) {
	src := rn.src
	args = []string{"backup", "--json", "--tag", src.Tag()}
	for _, t := range src.Tags {
		args = append(args, "--tag", t)
	}
	if rn.Config.Host != "" {
		args = append(args, "--host", rn.Config.Host)
	}
	cleanup = func() {}
	switch kind, arg := src.Database(); kind {
	case "sqlite":
		dir, err := os.MkdirTemp("", "cairn-sqlite-")
		if err != nil {
			return nil, "", nil, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		copyFile := filepath.Join(dir, src.DumpName())
		if err := SQLiteCopy(rn.ctx, arg, copyFile); err != nil {
			cleanup()
			return nil, "", nil, err
		}
		return append(args, "--stdin", "--stdin-filename", src.DumpName()), copyFile, cleanup, nil
	case "command":
		return append(args, "--stdin-from-command", "--stdin-filename", src.DumpName(), "--", "sh", "-c", arg), "", cleanup, nil
	}
	for _, e := range src.Exclude {
		args = append(args, "--exclude", e)
	}
	if src.ExcludeCaches {
		args = append(args, "--exclude-caches")
	}
	if src.OneFileSystem {
		args = append(args, "--one-file-system")
	}
	return append(args, src.Paths...), "", cleanup, nil
}

// backup backs the source up to the primary; it reports whether a
// snapshot was made.
func (rn *run) backup(primary *config.Repository) bool {
	start := time.Now()
	name := "backup " + primary.Name
	args, stdinFile, cleanup, err := rn.backupArgs()
	if err != nil {
		rn.step(name, StatusFailed, err.Error(), start, nil)
		return false
	}
	defer cleanup()
	c := Command{Repo: primary, Args: args}
	if stdinFile != "" {
		f, err := os.Open(stdinFile)
		if err != nil {
			rn.step(name, StatusFailed, err.Error(), start, nil)
			return false
		}
		defer f.Close()
		c.Stdin = f
	}
	res, err := rn.cairn(c)
	if err != nil {
		rn.step(name, StatusFailed, err.Error(), start, nil)
		return false
	}
	var sum message.BackupSummary
	derr := res.Decode(&sum)
	id := sum.SnapshotID
	switch {
	case (res.Code == 0 || res.Code == 3) && derr == nil && id != "":
		rn.rep.SnapshotID = id
		rn.st.LastSnapshot = id
		rn.st.LastDuration = sum.TotalDuration
		rn.st.LastDataAdded, rn.st.LastFiles = sum.DataAdded, sum.TotalFilesProcessed
		msg := fmt.Sprintf("snapshot %s, %d new, %d changed, %d unmodified files, %s added",
			ShortID(id), sum.FilesNew, sum.FilesChanged, sum.FilesUnmodified, humanize.IBytes(sum.DataAdded))
		status := StatusOK
		if res.Code == 3 {
			status, msg = StatusWarning, msg+"; some files could not be read: "+res.Message()
		}
		rn.step(name, status, msg, start, sum)
		return true
	case res.Code == 0 || res.Code == 3:
		rn.step(name, StatusFailed, "the backup printed no summary with a snapshot ID", start, nil)
		return false
	default:
		rn.step(name, StatusFailed, res.Message(), start, nil)
		return false
	}
}

// verify reads every blob of a snapshot (the newest one of the source
// when id is empty) back from the repository.
func (rn *run) verify(t *config.Repository, id string) bool {
	start := time.Now()
	name := "verify " + t.Name
	if id == "" {
		var err error
		if id, err = rn.latest(t); err != nil {
			rn.step(name, StatusFailed, err.Error(), start, nil)
			return false
		}
	}
	res, err := rn.cairn(Command{Repo: t, Args: []string{"check", "--json", "--read-data", "--snapshot", id}})
	if err != nil || res.Code != 0 {
		rn.step(name, StatusFailed, "snapshot "+ShortID(id)+": "+FailureMessage(res, err)+"; old snapshots are kept", start, nil)
		return false
	}
	var sum message.CheckSummary
	if err := res.Decode(&sum); err != nil {
		rn.step(name, StatusFailed, "snapshot "+ShortID(id)+": check printed no summary ("+err.Error()+"); old snapshots are kept", start, nil)
		return false
	}
	rn.step(name, StatusOK, fmt.Sprintf("snapshot %s: %d packs, %s read back intact", ShortID(id), sum.PacksRead, humanize.IBytes(sum.BytesRead)), start, nil)
	return true
}

// ShortID shortens a snapshot ID to its first 8 hex digits.
func ShortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// latest returns the ID of the source's newest snapshot in t.
func (rn *run) latest(t *config.Repository) (string, error) {
	snaps, err := rn.snapshotsOf(t)
	if err != nil {
		return "", err
	}
	if len(snaps) == 0 {
		return "", fmt.Errorf("no snapshot of %s in %s", rn.src.Name, t.Name)
	}
	return snaps[len(snaps)-1].ID, nil
}

// copy copies the source's snapshots the copy target lacks.
func (rn *run) copy(from, to *config.Repository) bool {
	start := time.Now()
	name := "copy " + to.Name
	res, err := rn.cairn(Command{Repo: to, From: from, Args: []string{"copy", "--json", "--tag", rn.src.Tag()}})
	if err != nil || res.Code != 0 {
		rn.step(name, StatusFailed, FailureMessage(res, err), start, nil)
		return false
	}
	var sum message.CopySummary
	if err := res.Decode(&sum); err != nil {
		rn.step(name, StatusFailed, "copy printed no summary: "+err.Error(), start, nil)
		return false
	}
	rn.step(name, StatusOK, fmt.Sprintf("%s copied, %s uploaded", snapshots(sum.SnapshotsCopied), humanize.IBytes(sum.BytesCopied)), start, sum)
	return true
}

func (rn *run) retentionDue(t *config.Repository) bool {
	if !rn.src.Retention.HasRetention() {
		return false
	}
	last := rn.st.LastRetention[t.Name]
	return rn.Now().Sub(last) >= config.Duration(rn.src.Retention.PruneEvery)
}

// retention runs forget, then prune, on a target whose newest data was
// just verified.
func (rn *run) retention(t *config.Repository) {
	start := time.Now()
	if t.MaintainedElsewhere() {
		rn.step("forget "+t.Name, StatusOK, "done by the maintenance machine (maintenance = \"elsewhere\")", start, nil)
		return
	}
	m := t.ForMaintenance()
	args := append([]string{"forget", "--json", "--tag", rn.src.Tag()}, rn.src.Retention.ForgetArgs()...)
	res, err := rn.cairn(Command{Repo: m, Args: args})
	if err != nil || res.Code != 0 {
		rn.step("forget "+t.Name, StatusFailed, FailureMessage(res, err), start, nil)
		return
	}
	kept, removed := forgetCounts(res.Stdout)
	rn.step("forget "+t.Name, StatusOK, fmt.Sprintf("%s kept, %d removed", snapshots(kept), removed), start, nil)
	start = time.Now()
	res, err = rn.cairn(Command{Repo: m, Args: []string{"prune", "--json", "--max-unused", rn.src.Retention.MaxUnused}})
	if err != nil || res.Code != 0 {
		rn.step("prune "+t.Name, StatusFailed, FailureMessage(res, err), start, nil)
		return
	}
	var sum message.PruneSummary
	if err := res.Decode(&sum); err != nil {
		rn.step("prune "+t.Name, StatusWarning, "prune printed no summary: "+err.Error(), start, nil)
	} else {
		rn.step("prune "+t.Name, StatusOK, fmt.Sprintf("%d packs deleted, %d repacked", sum.PacksDeleted, sum.PacksRepacked), start, nil)
	}
	if rn.st.LastRetention == nil {
		rn.st.LastRetention = map[string]time.Time{}
	}
	rn.st.LastRetention[t.Name] = rn.Now()
}

// FailureMessage says in one line why a cairn command failed: err, or the
// command's own last line of error output.
func FailureMessage(res Result, err error) string {
	if err != nil {
		return err.Error()
	}
	return res.Message()
}

// forgetCounts reads forget's JSON groups.
func forgetCounts(out []byte) (kept, removed int) {
	var groups []struct {
		Keep   []any `json:"keep"`
		Remove []any `json:"remove"`
	}
	for _, line := range SplitLines(string(out)) {
		if json.Unmarshal([]byte(line), &groups) == nil {
			for _, g := range groups {
				kept += len(g.Keep)
				removed += len(g.Remove)
			}
		}
	}
	return kept, removed
}

// SplitLines splits command output into lines.
func SplitLines(s string) []string {
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}

// check runs a rolling check of a target when one is due, and measures
// its storage.
func (rn *run) check(t *config.Repository) {
	last := rn.st.LastCheck[t.Name]
	if rn.Now().Sub(last) < config.Duration(rn.src.Check.Every) {
		return
	}
	start := time.Now()
	name := "check " + t.Name
	res, err := rn.cairn(Command{Repo: t, Args: []string{"check", "--json", "--rolling", rn.src.Check.Rolling}})
	if err != nil {
		rn.step(name, StatusFailed, err.Error(), start, nil)
		return
	}
	var sum message.CheckSummary
	derr := res.Decode(&sum)
	ok := res.Code == 0 && derr == nil
	if rn.st.LastCheck == nil {
		rn.st.LastCheck, rn.st.LastCheckOK = map[string]time.Time{}, map[string]bool{}
	}
	rn.st.LastCheck[t.Name], rn.st.LastCheckOK[t.Name] = rn.Now(), ok
	if !ok {
		msg := res.Message()
		if res.Code == 0 && derr != nil {
			msg = "check printed no summary: " + derr.Error()
		}
		if len(sum.Damage) > 0 {
			msg = fmt.Sprintf("%d damaged blobs; run \"cairn check --read-data\" and \"cairn repair\"", len(sum.Damage))
		}
		rn.events[config.EventCheckFailed] = t.Name + ": " + msg
		rn.step(name, StatusFailed, msg, start, sum)
	} else {
		cov := ""
		if roll := sum.Rolling; roll != nil {
			cov = fmt.Sprintf(", rolling coverage %.0f%%", 100*roll.Coverage)
			if rn.st.Coverage == nil {
				rn.st.Coverage = map[string]float64{}
			}
			rn.st.Coverage[t.Name] = roll.Coverage
		}
		rn.step(name, StatusOK, fmt.Sprintf("%d packs read%s", sum.PacksRead, cov), start, sum)
	}
	rn.storage(t)
}

// storage measures a target's size and warns when its storage nears
// full: below min-free on a local filesystem, above 90% of a bucket's
// quota.
func (rn *run) storage(t *config.Repository) {
	start := time.Now()
	res, err := rn.cairn(Command{Repo: t, Args: []string{"stats", "--json"}})
	if err != nil || res.Code != 0 {
		rn.step("storage "+t.Name, StatusWarning, "could not measure the repository: "+FailureMessage(res, err), start, nil)
		return
	}
	var stats message.StatsSummary
	if err := res.Decode(&stats); err != nil {
		rn.step("storage "+t.Name, StatusWarning, "could not measure the repository: stats printed no summary: "+err.Error(), start, nil)
		return
	}
	size := stats.RepositorySize
	if rn.st.RepoSize == nil {
		rn.st.RepoSize = map[string]uint64{}
	}
	rn.st.RepoSize[t.Name] = size
	msg := fmt.Sprintf("repository %s", humanize.IBytes(size))
	full := ""
	if path, local := t.Local(); local {
		if free, total, err := diskSpace(path); err == nil {
			msg += fmt.Sprintf(", %s free of %s", humanize.IBytes(free), humanize.IBytes(total))
			if below(free, total, t.MinFree) {
				full = fmt.Sprintf("only %s free on the filesystem of %s (min-free %s)", humanize.IBytes(free), t.Name, t.MinFree)
			}
		}
	} else if t.Quota != "" {
		quota, _ := humanize.ParseBytes(t.Quota)
		msg += fmt.Sprintf(" of a %s quota", humanize.IBytes(quota))
		if float64(size) > 0.9*float64(quota) {
			full = fmt.Sprintf("%s uses %s of its %s quota", t.Name, humanize.IBytes(size), humanize.IBytes(quota))
		}
	}
	if full != "" {
		rn.events[config.EventStorageFull] = full
		rn.step("storage "+t.Name, StatusWarning, full, start, nil)
		return
	}
	rn.step("storage "+t.Name, StatusOK, msg, start, nil)
}

// below reports whether free space is under the min-free setting ("10%"
// or a size).
func below(free, total uint64, minFree string) bool {
	if strings.HasSuffix(minFree, "%") {
		p, err := config.ParsePercent(minFree)
		return err == nil && float64(free) < float64(total)*p/100
	}
	n, err := humanize.ParseBytes(minFree)
	return err == nil && free < n
}

// snapshots writes "1 snapshot", "2 snapshots".
func snapshots(n int) string {
	if n == 1 {
		return "1 snapshot"
	}
	return fmt.Sprintf("%d snapshots", n)
}
