package assurance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/config"
	"github.com/cairn-backup/cairn/duration"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/routine"
)

// Records stores and reads encrypted records in a configured repository.
type Records interface {
	SaveRecord(ctx context.Context, r *config.Repository, kind byte, v any) (string, error)
	LoadRecords(ctx context.Context, r *config.Repository, kind byte) ([]repo.JSONRecord, error)
	// Immutability reads a repository's object lock and finds out, with
	// a canary, whether its backup credentials can delete.
	Immutability(ctx context.Context, r *config.Repository) (Immutability, error)
}

// Immutability is what protects a repository from the machine that backs
// up into it (repo.Protection: the lock, whether its credentials can
// delete, and bypass a governance lock, and whether the bucket's default
// retention is weaker than the config's).
type Immutability = repo.Protection

// VerifyResult is the outcome of one verify command of a drill.
type VerifyResult struct {
	Command  string  `json:"command"`
	OK       bool    `json:"ok"`
	Output   string  `json:"output,omitempty"`
	Duration float64 `json:"duration_seconds"`
}

// DrillRecord is what a restore drill measured, stored encrypted in the
// target repository (record kind 17).
type DrillRecord struct {
	ID       string    `json:"id,omitempty"` // the record's name, when loaded
	Time     time.Time `json:"time"`
	Host     string    `json:"host,omitempty"`
	Source   string    `json:"source"`
	Target   string    `json:"target"`
	Snapshot string    `json:"snapshot"`
	Files    uint64    `json:"files"`
	Bytes    uint64    `json:"bytes"`
	Duration float64   `json:"duration_seconds"`
	// Throughput is restored bytes per second.
	Throughput float64 `json:"throughput_bytes_per_second"`
	// Sample drills restore part of the snapshot; FullBytes is its whole
	// size and EstimatedDuration the duration extrapolated to it.
	Sample            bool           `json:"sample"`
	FullBytes         uint64         `json:"full_bytes"`
	EstimatedDuration float64        `json:"estimated_duration_seconds"`
	RTO               float64        `json:"rto_seconds"`
	WithinRTO         bool           `json:"within_rto"`
	FailedFiles       []string       `json:"failed_files,omitempty"`
	Verify            []VerifyResult `json:"verify,omitempty"`
	Pass              bool           `json:"pass"`
	Reasons           []string       `json:"reasons,omitempty"`
}

// DrillOptions refine a drill.
type DrillOptions struct {
	Target   string // repository name; default the source's drill target
	Snapshot string // snapshot ID; default the newest of the source
	Sample   uint64 // restore a random sample of about this many bytes
	Keep     bool   // keep the scratch folder
	Scratch  string // parent of the scratch folder; default the system's
}

// Drill restores a source's snapshot into a scratch folder, verifies
// every restored file against the snapshot, runs the verify commands,
// compares the time with the RTO and records the result in the target.
func Drill(ctx context.Context, r *routine.Runner, name string, opts DrillOptions, records Records) (*DrillRecord, error) {
	src := r.Config.Sources[name]
	targetName := opts.Target
	if targetName == "" {
		targetName = src.Drill.Target
	}
	target, ok := r.Config.Repositories[targetName]
	if !ok {
		return nil, fmt.Errorf("no repository %q in the configuration", targetName)
	}
	rn := r.Begin(ctx, name)
	rec := &DrillRecord{Time: r.Now().UTC(), Source: name, Target: targetName, RTO: src.RTODuration.Seconds()}
	rec.Host, _ = os.Hostname()
	snap, err := rn.FindSnapshot(target, opts.Snapshot)
	if err != nil {
		return nil, err
	}
	rec.Snapshot, rec.FullBytes = snap.ID, snap.Summary.TotalBytes
	scratch, err := os.MkdirTemp(opts.Scratch, "cairn-drill-"+name+"-")
	if err != nil {
		return nil, err
	}
	if !opts.Keep {
		defer os.RemoveAll(scratch)
	} else {
		rn.Logf("%s: drill: restored data kept in %s\n", name, scratch)
	}
	args := []string{"restore", snap.ID, "--target", scratch, "--verify", "--json"}
	if opts.Sample > 0 {
		patterns, err := sample(rn, target, snap.ID, opts.Sample)
		if err != nil {
			return nil, err
		}
		// The sample's patterns go in a file: one --include per file
		// would overflow the command line of a sample of many small files.
		list, err := os.CreateTemp(opts.Scratch, "cairn-drill-sample-")
		if err != nil {
			return nil, err
		}
		defer os.Remove(list.Name())
		_, werr := io.WriteString(list, strings.Join(patterns, "\n")+"\n")
		if err := errors.Join(werr, list.Close()); err != nil {
			return nil, fmt.Errorf("write the sample's list: %w", err)
		}
		rec.Sample = true
		args = append(args, "--include-file", list.Name())
	}
	start := time.Now()
	res, err := rn.Cairn(routine.Command{Repo: target, Args: args})
	if err != nil {
		return nil, err
	}
	rec.Duration = time.Since(start).Seconds()
	restored(rn, rec, res)
	dir := drillDir(src, scratch)
	for _, c := range src.Drill.Verify {
		rec.Verify = append(rec.Verify, verifyCommand(rn, c, dir))
	}
	judge(rn, rec)
	id, err := records.SaveRecord(ctx, target, repo.KindDrill, rec)
	if err != nil {
		rec.Pass = false
		rec.Reasons = append(rec.Reasons, "the drill record could not be stored: "+err.Error())
	}
	rec.ID = id
	drillState(rn, rec)
	return rec, nil
}

// sample picks random files of the snapshot up to about size bytes and
// returns include patterns naming exactly them, one per file (files
// whose names hold a line break cannot be named in a pattern file and are
// not picked).
func sample(rn *routine.Session, t *config.Repository, id string, size uint64) ([]string, error) {
	res, err := rn.Cairn(routine.Command{Repo: t, Args: []string{"ls", id, "--json"}})
	if err != nil || res.Code != 0 {
		return nil, fmt.Errorf("list snapshot %s: %s", routine.ShortID(id), routine.FailureMessage(res, err))
	}
	type file struct {
		Path string `json:"path"`
		Type string `json:"type"`
		Size uint64 `json:"size"`
	}
	var files []file
	for _, line := range routine.SplitLines(string(res.Stdout)) {
		var f file
		if json.Unmarshal([]byte(line), &f) == nil && f.Type == "file" {
			files = append(files, f)
		}
	}
	rand.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
	var args []string
	var total uint64
	for _, f := range files {
		if total >= size {
			break
		}
		if strings.ContainsAny(f.Path, "\r\n") {
			continue
		}
		args = append(args, globEscape(f.Path))
		total += f.Size
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("snapshot %s holds no files to sample", routine.ShortID(id))
	}
	return args, nil
}

// globEscape quotes the pattern characters of a path.
func globEscape(p string) string {
	var b strings.Builder
	for _, c := range p {
		if strings.ContainsRune(`*?[]\!#`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// restored reads restore's summary into the record.
func restored(rn *routine.Session, rec *DrillRecord, res routine.Result) {
	var sum message.RestoreSummary
	if err := res.Decode(&sum); err != nil && res.Code == 0 {
		rec.Reasons = append(rec.Reasons, "restore printed no summary: "+err.Error())
	}
	rec.Files = sum.FilesRestored
	rec.Bytes = sum.TotalBytes
	rec.FailedFiles = append(rec.FailedFiles, sum.Failed...)
	if res.Code != 0 {
		msg := res.Message()
		if len(rec.FailedFiles) > 0 {
			msg = fmt.Sprintf("%d files could not be restored: %s", len(rec.FailedFiles), strings.Join(firstN(rec.FailedFiles, 5), ", "))
		}
		rec.Reasons = append(rec.Reasons, "restore failed: "+msg)
	}
	if rec.Duration > 0 {
		rec.Throughput = float64(rec.Bytes) / rec.Duration
	}
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}

// drillDir is what {dir} stands for: the restored copy of the source's
// only path, or the restore folder.
func drillDir(src *config.Source, scratch string) string {
	if kind, _ := src.Database(); kind == "" && len(src.Paths) == 1 {
		return filepath.Join(scratch, src.Paths[0])
	}
	return scratch
}

func verifyCommand(rn *routine.Session, command, dir string) VerifyResult {
	c := strings.ReplaceAll(command, "{dir}", routine.ShellQuote([]string{dir}))
	start := time.Now()
	out, err := routine.RunHook(rn.Context(), c, routine.HookEnv{Source: rn.Source().Name, Hook: "drill verify", Dir: rn.Runner().Config.Dir()}, config.Duration(rn.Source().Drill.Timeout), false)
	v := VerifyResult{Command: command, OK: err == nil, Output: tail(out, 2000), Duration: time.Since(start).Seconds()}
	if err != nil {
		v.Output = strings.TrimSpace(v.Output + "\n" + err.Error())
	}
	return v
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// judge decides pass or fail, extrapolating a sample to the full size.
func judge(rn *routine.Session, rec *DrillRecord) {
	rec.EstimatedDuration = rec.Duration
	if rec.Sample && rec.Bytes > 0 && rec.FullBytes > rec.Bytes {
		rec.EstimatedDuration = rec.Duration * float64(rec.FullBytes) / float64(rec.Bytes)
	}
	rec.WithinRTO = rec.EstimatedDuration <= rec.RTO
	if !rec.WithinRTO {
		what := "the restore took"
		if rec.Sample {
			what = "the full restore would take (extrapolated from the sample)"
		}
		rec.Reasons = append(rec.Reasons, fmt.Sprintf("%s %s, over the RTO of %s", what,
			duration.Short(time.Duration(rec.EstimatedDuration*1e9)), rn.Source().RTO))
	}
	for _, v := range rec.Verify {
		if !v.OK {
			rec.Reasons = append(rec.Reasons, fmt.Sprintf("verify command %q failed: %s", v.Command, lastLine(v.Output)))
		}
	}
	rec.Pass = len(rec.Reasons) == 0
}

func lastLine(s string) string {
	l := routine.SplitLines(strings.TrimSpace(s))
	return l[len(l)-1]
}

// drillState records the drill time, and notifies a failure as runs do.
func drillState(rn *routine.Session, rec *DrillRecord) {
	now := rn.Runner().Now()
	status := map[bool]string{true: "pass", false: "fail"}[rec.Pass]
	rn.Warnf(rn.Runner().Store.Update(rn.Source().Name, func(st *routine.State) { st.LastDrill, st.LastDrillStatus = now, status }))
	cfg := rn.Runner().Config.NotifyFor(rn.Source())
	if !rec.Pass {
		rn.Warnf(rn.Runner().Notifier.Send(rn.Context(), cfg, routine.Event{Event: config.EventFailure, Source: rn.Source().Name, Host: rec.Host,
			Time: rec.Time, Status: "drill failed", SnapshotID: rec.Snapshot, Message: "restore drill failed: " + strings.Join(rec.Reasons, "; ")}))
	}
}

// Drills returns the drill records of a source stored in a repository,
// oldest first.
func Drills(ctx context.Context, records Records, t *config.Repository, source string) ([]*DrillRecord, error) {
	recs, err := records.LoadRecords(ctx, t, repo.KindDrill)
	if err != nil {
		return nil, err
	}
	var out []*DrillRecord
	for _, r := range recs {
		var d DrillRecord
		if json.Unmarshal(r.Data, &d) != nil || (source != "" && d.Source != source) {
			continue
		}
		d.ID = r.Name
		out = append(out, &d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}
