package ops

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cairn-backup/cairn/config"
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
	sum := res.Summary()
	id, _ := sum["snapshot_id"].(string)
	switch {
	case (res.Code == 0 || res.Code == 3) && id != "":
		rn.rep.SnapshotID = id
		rn.st.LastSnapshot = id
		rn.st.LastDuration, _ = sum["total_duration"].(float64)
		added, _ := sum["data_added"].(float64)
		files, _ := sum["total_files_processed"].(float64)
		rn.st.LastDataAdded, rn.st.LastFiles = uint64(added), uint64(files)
		msg := fmt.Sprintf("snapshot %s, %v new, %v changed, %v unmodified files, %s added",
			id[:8], sum["files_new"], sum["files_changed"], sum["files_unmodified"], humanBytes(sum["data_added"]))
		status := StatusOK
		if res.Code == 3 {
			status, msg = StatusWarning, msg+"; some files could not be read: "+res.Message()
		}
		rn.step(name, status, msg, start, sum)
		return true
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
		rn.step(name, StatusFailed, "snapshot "+short(id)+": "+errMsg(res, err)+"; old snapshots are kept", start, nil)
		return false
	}
	sum := res.Summary()
	rn.step(name, StatusOK, fmt.Sprintf("snapshot %s: %v packs, %s read back intact", short(id), sum["packs_read"], humanBytes(sum["bytes_read"])), start, nil)
	return true
}

func short(id string) string {
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
		rn.step(name, StatusFailed, errMsg(res, err), start, nil)
		return false
	}
	sum := res.Summary()
	rn.step(name, StatusOK, fmt.Sprintf("%v snapshots copied, %s uploaded", sum["snapshots_copied"], humanBytes(sum["bytes_copied"])), start, sum)
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
	args := append([]string{"forget", "--json", "--tag", rn.src.Tag()}, rn.src.Retention.ForgetArgs()...)
	res, err := rn.cairn(Command{Repo: t, Args: args})
	if err != nil || res.Code != 0 {
		rn.step("forget "+t.Name, StatusFailed, errMsg(res, err), start, nil)
		return
	}
	kept, removed := forgetCounts(res.Stdout)
	rn.step("forget "+t.Name, StatusOK, fmt.Sprintf("%d snapshots kept, %d removed", kept, removed), start, nil)
	start = time.Now()
	res, err = rn.cairn(Command{Repo: t, Args: []string{"prune", "--json", "--max-unused", rn.src.Retention.MaxUnused}})
	if err != nil || res.Code != 0 {
		rn.step("prune "+t.Name, StatusFailed, errMsg(res, err), start, nil)
		return
	}
	sum := res.Summary()
	rn.step("prune "+t.Name, StatusOK, fmt.Sprintf("%v packs deleted, %v repacked", sum["packs_deleted"], sum["packs_repacked"]), start, nil)
	if rn.st.LastRetention == nil {
		rn.st.LastRetention = map[string]time.Time{}
	}
	rn.st.LastRetention[t.Name] = rn.Now()
}

func errMsg(res Result, err error) string {
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
	for _, line := range splitLines(string(out)) {
		if json.Unmarshal([]byte(line), &groups) == nil {
			for _, g := range groups {
				kept += len(g.Keep)
				removed += len(g.Remove)
			}
		}
	}
	return kept, removed
}

func splitLines(s string) []string {
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
	sum := res.Summary()
	ok := res.Code == 0
	if rn.st.LastCheck == nil {
		rn.st.LastCheck, rn.st.LastCheckOK = map[string]time.Time{}, map[string]bool{}
	}
	rn.st.LastCheck[t.Name], rn.st.LastCheckOK[t.Name] = rn.Now(), ok
	if !ok {
		msg := res.Message()
		if d, _ := sum["damage"].([]any); len(d) > 0 {
			msg = fmt.Sprintf("%d damaged blobs; run \"cairn check --read-data\" and \"cairn repair\"", len(d))
		}
		rn.events[config.EventCheckFailed] = t.Name + ": " + msg
		rn.step(name, StatusFailed, msg, start, sum)
	} else {
		cov := ""
		if roll, _ := sum["rolling"].(map[string]any); roll != nil {
			cov = fmt.Sprintf(", rolling coverage %.0f%%", 100*num(roll["coverage"]))
			if rn.st.Coverage == nil {
				rn.st.Coverage = map[string]float64{}
			}
			rn.st.Coverage[t.Name] = num(roll["coverage"])
		}
		rn.step(name, StatusOK, fmt.Sprintf("%v packs read%s", sum["packs_read"], cov), start, sum)
	}
	rn.storage(t)
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// storage measures a target's size and warns when its storage nears
// full: below min-free on a local filesystem, above 90% of a bucket's
// quota.
func (rn *run) storage(t *config.Repository) {
	start := time.Now()
	res, err := rn.cairn(Command{Repo: t, Args: []string{"stats", "--json"}})
	if err != nil || res.Code != 0 {
		rn.step("storage "+t.Name, StatusWarning, "could not measure the repository: "+errMsg(res, err), start, nil)
		return
	}
	size := uint64(num(res.Summary()["repository_size"]))
	if rn.st.RepoSize == nil {
		rn.st.RepoSize = map[string]uint64{}
	}
	rn.st.RepoSize[t.Name] = size
	msg := fmt.Sprintf("repository %s", humanize.IBytes(size))
	full := ""
	if path, local := t.Local(); local {
		var fs syscall.Statfs_t
		if err := syscall.Statfs(path, &fs); err == nil {
			free, total := fs.Bavail*uint64(fs.Bsize), fs.Blocks*uint64(fs.Bsize)
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
