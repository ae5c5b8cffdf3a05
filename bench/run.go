package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Tool knows how to run one backup program.
type Tool struct {
	Name string
	// Settings says how the tool is configured: its compression, and
	// whether that is its default.
	Settings string
	Env      []string
	// Init creates a repository: commands run in turn.
	Init   func(repo string) [][]string
	Backup func(repo, dir string) []string
	// Snapshots lists the repository's snapshots as JSON, and Latest reads
	// that list: the newest snapshot's ID (as Restore takes it) and how
	// many there are. Every backup is checked to have added one.
	Snapshots func(repo string) []string
	Latest    func(out []byte) (id string, count int, err error)
	// Restore restores snapshot id; it runs with target as its working
	// directory.
	Restore func(repo, target, id string) []string
	Check   func(repo string) []string
	// Version prints the tool's version (its first line is kept).
	Version []string
}

// Tools returns cairn (the given binary) and the peers named in compare
// that are installed; missing peers are listed in skipped. With same,
// every peer whose default compression is not zstd runs a second time
// with zstd ("borg-zstd", "kopia-zstd"), beside its defaults: cairn and
// restic compress with zstd by default.
func Tools(cairn string, compare []string, same bool) (tools []Tool, skipped []string) {
	tools = append(tools, Tool{
		Name: "cairn", Settings: "zstd fastest level (default)", Env: []string{"CAIRN_PASSWORD=bench"},
		Init:      func(r string) [][]string { return [][]string{{cairn, "-q", "-r", r, "init"}} },
		Backup:    func(r, d string) []string { return []string{cairn, "-q", "-r", r, "backup", d} },
		Snapshots: func(r string) []string { return []string{cairn, "-q", "-r", r, "snapshots", "--json"} },
		Latest:    latestByTime,
		Restore:   func(r, t, id string) []string { return []string{cairn, "-q", "-r", r, "restore", id, "--target", t} },
		Check:     func(r string) []string { return []string{cairn, "-q", "-r", r, "check", "--read-data"} },
		Version:   []string{cairn, "version"},
	})
	for _, name := range compare {
		name = strings.TrimSpace(name)
		if name == "" || name == "cairn" {
			continue
		}
		bin, err := exec.LookPath(name)
		if err != nil {
			skipped = append(skipped, name)
			continue
		}
		switch name {
		case "restic":
			tools = append(tools, Tool{
				Name: "restic", Settings: "zstd default level (default: compression auto)", Env: []string{"RESTIC_PASSWORD=bench"},
				Init:      func(r string) [][]string { return [][]string{{bin, "-q", "-r", r, "init"}} },
				Backup:    func(r, d string) []string { return []string{bin, "-q", "-r", r, "backup", d} },
				Snapshots: func(r string) []string { return []string{bin, "-q", "-r", r, "snapshots", "--json"} },
				Latest:    latestByTime,
				Restore:   func(r, t, id string) []string { return []string{bin, "-q", "-r", r, "restore", id, "--target", t} },
				Check:     func(r string) []string { return []string{bin, "-q", "-r", r, "check", "--read-data", "--no-cache"} },
				Version:   []string{bin, "version"},
			})
		case "borg":
			tools = append(tools, borgTool(bin, "borg", "lz4 (default)", nil))
			if same {
				tools = append(tools, borgTool(bin, "borg-zstd", "zstd level 3", []string{"--compression", "zstd,3"}))
			}
		case "kopia":
			tools = append(tools, kopiaTool(bin, "kopia", "none (default)", ""))
			if same {
				tools = append(tools, kopiaTool(bin, "kopia-zstd", "zstd", "zstd"))
			}
		default:
			skipped = append(skipped, name)
		}
	}
	return tools, skipped
}

// borgTool runs borg with extra arguments to create.
func borgTool(bin, name, settings string, create []string) Tool {
	n := 0
	return Tool{
		Name: name, Settings: settings,
		Env:  []string{"BORG_PASSPHRASE=bench", "BORG_RELOCATED_REPO_ACCESS_IS_OK=yes", "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes"},
		Init: func(r string) [][]string { return [][]string{{bin, "init", "--encryption=repokey-blake2", r}} },
		Backup: func(r, d string) []string {
			n++
			return append(append([]string{bin, "create"}, create...), fmt.Sprintf("%s::b%d", r, n), d)
		},
		Snapshots: func(r string) []string { return []string{bin, "list", "--json", r} },
		Latest:    latestBorg,
		Restore:   func(r, t, id string) []string { return []string{bin, "extract", r + "::" + id} },
		Check:     func(r string) []string { return []string{bin, "check", "--verify-data", r} },
		Version:   []string{bin, "--version"},
	}
}

// kopiaTool runs kopia, setting the global compression policy to
// compression unless it is empty.
func kopiaTool(bin, name, settings, compression string) Tool {
	cfg := func(r string) []string { return []string{bin, "--config-file", r + ".config"} }
	return Tool{
		Name: name, Settings: settings, Env: []string{"KOPIA_PASSWORD=bench", "KOPIA_CHECK_FOR_UPDATES=false"},
		Init: func(r string) [][]string {
			cmds := [][]string{append(cfg(r), "repository", "create", "filesystem", "--path", r)}
			if compression != "" {
				cmds = append(cmds, append(cfg(r), "policy", "set", "--global", "--compression", compression))
			}
			return cmds
		},
		Backup:    func(r, d string) []string { return append(cfg(r), "snapshot", "create", d) },
		Snapshots: func(r string) []string { return append(cfg(r), "snapshot", "list", "--all", "--json") },
		Latest:    latestKopia,
		// kopia has no "latest": the snapshot is named by its root object.
		Restore: func(r, t, id string) []string { return append(cfg(r), "snapshot", "restore", id, t) },
		Check:   func(r string) []string { return append(cfg(r), "snapshot", "verify", "--verify-files-percent=100") },
		Version: []string{bin, "--version"},
	}
}

// latestByTime reads a JSON list of snapshots with "id" and "time"
// (cairn and restic).
func latestByTime(out []byte) (string, int, error) {
	var list []struct {
		ID   string    `json:"id"`
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return "", 0, fmt.Errorf("snapshot list: %w", err)
	}
	id, newest := "", time.Time{}
	for _, s := range list {
		if id == "" || !s.Time.Before(newest) {
			id, newest = s.ID, s.Time
		}
	}
	return id, len(list), nil
}

// latestBorg reads borg list --json: the newest archive's name.
func latestBorg(out []byte) (string, int, error) {
	var list struct {
		Archives []struct {
			Name  string `json:"name"`
			Start string `json:"start"`
		} `json:"archives"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return "", 0, fmt.Errorf("borg list: %w", err)
	}
	name, newest := "", ""
	for _, a := range list.Archives {
		if name == "" || a.Start >= newest { // ISO 8601 times of one zone sort as strings
			name, newest = a.Name, a.Start
		}
	}
	return name, len(list.Archives), nil
}

// latestKopia reads kopia snapshot list --json: the newest snapshot's
// root object ID, which kopia snapshot restore takes.
func latestKopia(out []byte) (string, int, error) {
	var list []struct {
		Start time.Time `json:"startTime"`
		Root  struct {
			Obj string `json:"obj"`
		} `json:"rootEntry"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return "", 0, fmt.Errorf("kopia snapshot list: %w", err)
	}
	id, newest := "", time.Time{}
	for _, s := range list {
		if id == "" || !s.Start.Before(newest) {
			id, newest = s.Root.Obj, s.Start
		}
	}
	return id, len(list), nil
}

// Step is one timed command.
type Step struct {
	Name      string  `json:"step"`
	Seconds   float64 `json:"seconds"`
	MBps      float64 `json:"mb_per_s"`
	FilesPerS float64 `json:"files_per_s"`
	PeakRSSKB int64   `json:"peak_rss_kb"`
	// CPUSeconds is the user and system time the tool's process used.
	CPUSeconds float64 `json:"cpu_seconds"`
	// Error says why the step failed: the command failed, or its result
	// is wrong (a restore whose files do not match the dataset). A failed
	// step has no time, no rates and no ratio.
	Error string `json:"error,omitempty"`
	// Skipped says the step was not run, because the tool's first
	// backup failed (Error then says so): there is nothing to measure.
	Skipped bool `json:"skipped,omitempty"`
}

// fail marks the step failed: it keeps no figures.
func (s *Step) fail(why string) {
	s.Error, s.Seconds, s.MBps, s.FilesPerS, s.CPUSeconds = why, 0, 0, 0, 0
}

// Result is one tool's run.
type Result struct {
	Tool        string  `json:"tool"`
	Steps       []Step  `json:"steps"`
	StoredBytes int64   `json:"stored_bytes"`
	Reduction   float64 `json:"reduction"` // dataset bytes / stored bytes (dedup and compression together)
}

// Report is a whole benchmark run.
type Report struct {
	Dataset string   `json:"dataset"`
	Bytes   int64    `json:"bytes"`
	Files   int      `json:"files"`
	Results []Result `json:"results"`
	// Versions is each tool's version, as it prints it, and Settings how
	// it was configured (Tool.Settings).
	Versions map[string]string             `json:"versions,omitempty"`
	Settings map[string]string             `json:"settings,omitempty"`
	Ratios   map[string]map[string]float64 `json:"ratios,omitempty"` // peer -> step -> cairn speed / peer speed
	Skipped  []string                      `json:"skipped,omitempty"`
	// Ceiling is the pipeline ceiling measured on this dataset, and
	// CeilingShare cairn's first backup MB/s as a share of it.
	Ceiling      *Ceiling `json:"ceiling,omitempty"`
	CeilingShare float64  `json:"ceiling_share,omitempty"`
}

// StoppedError is Run's error when its context ends (Ctrl-C) mid-run: no
// figures are reported, and Ran of the Total timed commands had ended
// (the last of them may have been cut short).
type StoppedError struct {
	Ran, Total int
	Err        error
}

// Error says how far the run got and why it stopped.
func (e *StoppedError) Error() string {
	return fmt.Sprintf("stopped after %d of %d timed commands: %v", e.Ran, e.Total, e.Err)
}

// Unwrap returns the context's error.
func (e *StoppedError) Unwrap() error { return e.Err }

// ReadReport reads a report written by "cairn bench run --json". A file
// that is not one (not JSON, or without a cairn result) is an error.
func ReadReport(name string) (*Report, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s is not a bench report: %w", name, err)
	}
	if len(rep.Results) == 0 || rep.Results[0].Tool != "cairn" {
		return nil, fmt.Errorf("%s is not a bench report: it has no cairn results", name)
	}
	return &rep, nil
}

// Failed lists the steps that failed, as "tool step: why".
func (r *Report) Failed() []string {
	var out []string
	for _, res := range r.Results {
		for _, s := range res.Steps {
			if s.Error != "" && !s.Skipped {
				out = append(out, res.Tool+" "+s.Name+": "+s.Error)
			}
		}
	}
	return out
}

// StepNames are the measured steps, in order.
var StepNames = []string{"backup", "rebackup-unchanged", "backup-1pct-changed", "restore", "check-read-data"}

// RunOptions configure Run.
type RunOptions struct {
	Cairn   string   // the cairn binary
	Compare []string // peers to run too
	Work    string   // scratch folder for repositories and restores
	Log     func(format string, args ...any)
	// Runs repeats the whole benchmark with fresh repositories and
	// reports each step's median (0 means once).
	Runs int
	// CeilingSample is how many bytes of the dataset MeasureCeiling reads
	// (0 means 256 MiB; negative skips the measurement).
	CeilingSample int64
	// SameSettings also runs every peer whose default compression is not
	// zstd with zstd (see Tools).
	SameSettings bool
}

// datasetSize counts the regular files and bytes below dir.
func datasetSize(dir string) (int64, int, []string, error) {
	var bytes int64
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			bytes += fi.Size()
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return bytes, len(files), files, err
}

// Run benchmarks every tool on dir. Steps run tool after tool, so every
// tool sees the same data; before the third backup, 1% of the files in
// dir are changed (4 KiB appended), which modifies the dataset.
func Run(ctx context.Context, dir string, o RunOptions) (*Report, error) {
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	bytes, nfiles, files, err := datasetSize(abs)
	if err != nil {
		return nil, err
	}
	tools, skipped := Tools(o.Cairn, o.Compare, o.SameSettings)
	rep := &Report{Dataset: abs, Bytes: bytes, Files: nfiles, Skipped: skipped, Versions: map[string]string{}, Settings: map[string]string{}}
	for _, t := range tools {
		rep.Versions[t.Name] = toolVersion(ctx, t)
		rep.Settings[t.Name] = t.Settings
	}

	runs := max(o.Runs, 1)
	all := make([][]Result, 0, runs)
	for run := range runs {
		work := o.Work
		if runs > 1 {
			work = filepath.Join(o.Work, fmt.Sprintf("run-%d", run+1))
			o.Log("run %d of %d\n", run+1, runs)
		}
		// The order of the tools rotates from run to run, so that no tool
		// always runs first (on the coldest caches).
		order := append(append([]Tool(nil), tools[run%len(tools):]...), tools[:run%len(tools)]...)
		res, err := runOnce(ctx, order, abs, bytes, nfiles, files, work, o.Log)
		if err != nil {
			return nil, err
		}
		byTool := map[string]Result{}
		for _, r := range res {
			byTool[r.Tool] = r
		}
		res = res[:0]
		for _, t := range tools {
			res = append(res, byTool[t.Name])
		}
		all = append(all, res)
		if runs > 1 {
			// Keep the disk free for the next run.
			if err := os.RemoveAll(work); err != nil {
				return nil, err
			}
		}
	}
	results := medianResults(all)
	rep.Results = results
	// The ceiling is measured last: its sample raises this process's
	// high-water RSS, which Linux passes on to every child started
	// afterwards (ru_maxrss survives exec), and would spoil their figures.
	if o.CeilingSample >= 0 {
		o.Log("measuring the pipeline ceiling\n")
		sample := o.CeilingSample
		if sample == 0 {
			sample = 256 << 20
		}
		if rep.Ceiling, err = MeasureCeiling(files, sample); err != nil {
			return nil, fmt.Errorf("pipeline ceiling: %w", err)
		}
	}
	if c := rep.Ceiling; c != nil && c.MBps > 0 && results[0].Steps[0].Error == "" {
		rep.CeilingShare = results[0].Steps[0].MBps / c.MBps
	}
	rep.Ratios = map[string]map[string]float64{}
	for _, peer := range results[1:] {
		r := map[string]float64{}
		for k, s := range peer.Steps {
			c := results[0].Steps[k]
			if s.Error == "" && c.Error == "" && c.Seconds > 0 {
				r[s.Name] = s.Seconds / c.Seconds
			}
		}
		if peer.Steps[0].PeakRSSKB > 0 {
			r["peak_rss_backup"] = float64(results[0].Steps[0].PeakRSSKB) / float64(peer.Steps[0].PeakRSSKB)
		}
		if results[0].StoredBytes > 0 && peer.StoredBytes > 0 {
			r["stored_size"] = float64(results[0].StoredBytes) / float64(peer.StoredBytes)
		}
		rep.Ratios[peer.Tool] = r
	}
	return rep, nil
}

// initRepos creates each tool's repository in work and returns where.
func initRepos(ctx context.Context, tools []Tool, work string) ([]string, error) {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	repos := make([]string, len(tools))
	for i, t := range tools {
		repos[i] = filepath.Join(work, t.Name+"-repo")
		for _, argv := range t.Init(repos[i]) {
			if _, err := timed(ctx, t, "", argv); err != nil {
				return nil, fmt.Errorf("%s init: %w", t.Name, err)
			}
		}
	}
	return repos, nil
}

// runOnce runs every step for every tool once, with repositories in work.
func runOnce(ctx context.Context, tools []Tool, abs string, bytes int64, nfiles int, files []string, work string,
	log func(string, ...any)) ([]Result, error) {
	tools = withOwnHome(tools, work)
	repos, err := initRepos(ctx, tools, work)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(tools))
	for i, t := range tools {
		results[i].Tool = t.Name
	}
	latest := make([]string, len(tools)) // the newest snapshot of each tool
	counts := make([]int, len(tools))
	// made checks that a backup added a snapshot, and remembers it.
	made := func(i int, t Tool) error { return newSnapshot(ctx, t, repos[i], &latest[i], &counts[i]) }
	var verify func(i int, t Tool) error // checks a step's result, when set
	ran := 0                             // commands run to their end
	noBackup := make([]bool, len(tools)) // the tool's first backup failed
	step := func(name string, argv func(i int, t Tool) ([]string, string)) {
		for i, t := range tools {
			if ctx.Err() != nil {
				return // interrupted: nothing more runs
			}
			if noBackup[i] {
				// A check of a repository that holds nothing, or a restore
				// of no snapshot, would time nothing worth a figure.
				log("%s: %s skipped: its first backup failed\n", t.Name, name)
				results[i].Steps = append(results[i].Steps, Step{Name: name, Skipped: true, Error: "skipped: the first backup failed"})
				ran++
				continue
			}
			args, cwd := argv(i, t)
			log("%s: %s\n", t.Name, name)
			// Write back what the previous command left dirty, so that no
			// tool pays for another's writes.
			syncDisks()
			s, err := timed(ctx, t, cwd, args)
			s.Name = name
			if err == nil && verify != nil {
				err = verify(i, t)
			}
			if err != nil {
				s.fail(err.Error())
				noBackup[i] = name == "backup"
			} else if s.Seconds > 0 {
				s.MBps = float64(bytes) / 1e6 / s.Seconds
				s.FilesPerS = float64(nfiles) / s.Seconds
			}
			results[i].Steps = append(results[i].Steps, s)
			if ctx.Err() == nil {
				ran++
			}
		}
	}
	backup := func(i int, t Tool) ([]string, string) {
		// Every backup reads a warm page cache: the first tool must not
		// pay for pages that earlier steps (restores of gigabytes) pushed
		// out, while the next reads what it brought back.
		warm(files)
		return t.Backup(repos[i], abs), ""
	}
	verify = made
	step("backup", backup)
	step("rebackup-unchanged", backup)
	undo, err := changeOnePercent(files)
	if err != nil {
		return nil, err
	}
	// The next run finds the dataset as this one did.
	defer func() { _ = undo() }()
	step("backup-1pct-changed", backup)
	wantBytes, wantFiles, _, err := datasetSize(abs)
	if err != nil {
		return nil, err
	}
	verify = func(i int, t Tool) error {
		gotBytes, gotFiles := treeSize(filepath.Join(work, t.Name+"-restore"))
		if gotFiles != wantFiles || gotBytes != wantBytes {
			return fmt.Errorf("the restore holds %d files and %d bytes, the dataset %d files and %d bytes", gotFiles, gotBytes, wantFiles, wantBytes)
		}
		return nil
	}
	step("restore", func(i int, t Tool) ([]string, string) {
		target := filepath.Join(work, t.Name+"-restore")
		_ = os.MkdirAll(target, 0o755)
		return t.Restore(repos[i], target, latest[i]), target
	})
	verify = nil
	for _, t := range tools {
		_ = os.RemoveAll(filepath.Join(work, t.Name+"-restore"))
	}
	step("check-read-data", func(i int, t Tool) ([]string, string) { return t.Check(repos[i]), "" })
	if err := ctx.Err(); err != nil {
		// The last command counted may have been cut short too.
		return nil, &StoppedError{Ran: ran, Total: 5 * len(tools), Err: err}
	}
	for i := range results {
		results[i].StoredBytes = duBytes(repos[i])
		if results[i].StoredBytes > 0 {
			results[i].Reduction = float64(bytes) / float64(results[i].StoredBytes)
		}
	}
	return results, nil
}

// withOwnHome returns copies of tools whose commands run with a home,
// cache and configuration folder of their own under work: every tool's
// cache (restic's, borg's, kopia's, which reached 16 GB on a million
// files) is part of its run, starts empty, and goes with the work folder
// instead of filling the user's home.
func withOwnHome(tools []Tool, work string) []Tool {
	out := make([]Tool, len(tools))
	for i, t := range tools {
		home := filepath.Join(work, t.Name+"-home")
		t.Env = append(append([]string(nil), t.Env...),
			"HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
		out[i] = t
	}
	return out
}

// medianResults merges runs: each step is the median run's step, with
// the MB/s, files/s, CPU time and peak RSS of that same run (for an even
// count, the lower of the two middle runs: a median that averaged two
// runs would pair a time with no run's memory); the stored size is that
// of the run whose first backup is the median.
func medianResults(all [][]Result) []Result {
	if len(all) == 1 {
		return all[0]
	}
	out := make([]Result, len(all[0]))
	for i := range out {
		out[i] = all[len(all)-1][i]
		out[i].Steps = nil
		for k := range all[0][i].Steps {
			runs := make([]int, len(all))
			for r := range runs {
				runs[r] = r
			}
			sort.SliceStable(runs, func(a, b int) bool {
				sa, sb := all[runs[a]][i].Steps[k], all[runs[b]][i].Steps[k]
				if (sa.Error == "") != (sb.Error == "") {
					return sa.Error == ""
				}
				return sa.Seconds < sb.Seconds
			})
			median := runs[(len(runs)-1)/2]
			out[i].Steps = append(out[i].Steps, all[median][i].Steps[k])
			if k == 0 {
				out[i].StoredBytes, out[i].Reduction = all[median][i].StoredBytes, all[median][i].Reduction
			}
		}
	}
	return out
}

// timed runs argv with the tool's environment and measures wall time and
// the child's peak RSS.
func timed(ctx context.Context, t Tool, cwd string, argv []string) (Step, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), t.Env...)
	cmd.Dir = cwd
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	s := Step{Seconds: time.Since(start).Seconds()}
	if ps := cmd.ProcessState; ps != nil {
		s.PeakRSSKB = peakRSSKB(ps)
		s.CPUSeconds = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 300 {
			msg = msg[len(msg)-300:]
		}
		return s, fmt.Errorf("%s: %v: %s", filepath.Base(argv[0]), err, msg)
	}
	return s, nil
}

// newSnapshot checks that the backup just made added a snapshot to repo:
// one more than count, whose ID it stores in latest.
func newSnapshot(ctx context.Context, t Tool, repo string, latest *string, count *int) error {
	out, err := output(ctx, t, t.Snapshots(repo))
	if err != nil {
		return fmt.Errorf("list snapshots after the backup: %w", err)
	}
	id, n, err := t.Latest(out)
	if err != nil {
		return err
	}
	if n != *count+1 || id == "" {
		return fmt.Errorf("the backup left %d snapshots, want %d", n, *count+1)
	}
	*latest, *count = id, n
	return nil
}

// output runs a tool's command and returns what it printed.
func output(ctx context.Context, t Tool, argv []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), t.Env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %s", filepath.Base(argv[0]), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// toolVersion is the first line the tool prints for its version, or
// "unknown".
func toolVersion(ctx context.Context, t Tool) string {
	if len(t.Version) == 0 {
		return "unknown"
	}
	out, err := exec.CommandContext(ctx, t.Version[0], t.Version[1:]...).Output()
	if err != nil {
		return "unknown"
	}
	return versionLine(t.Version[0], out)
}

// versionLine is the first line of a version command's output, led by
// the program's name when the line does not name it (kopia prints only
// its number).
func versionLine(bin string, out []byte) string {
	line := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	if line == "" {
		return "unknown"
	}
	name := filepath.Base(bin)
	if !strings.HasPrefix(strings.ToLower(line), strings.ToLower(name)) {
		line = name + " " + line
	}
	return line
}

// warm reads every file once, so that it is in the page cache.
func warm(files []string) {
	buf := make([]byte, 1<<20)
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			continue // the backup reports it
		}
		for {
			if _, err := f.Read(buf); err != nil {
				break
			}
		}
		_ = f.Close()
	}
}

// changeOnePercent appends 4 KiB to every hundredth file; undo cuts them
// back to their sizes.
func changeOnePercent(files []string) (undo func() error, err error) {
	g := newGen(4242)
	sizes := map[string]int64{}
	undo = func() error {
		var errs []error
		for name, size := range sizes {
			errs = append(errs, os.Truncate(name, size))
		}
		return errors.Join(errs...)
	}
	for i := 0; i < len(files); i += 100 {
		fi, err := os.Stat(files[i])
		if err != nil {
			return undo, err
		}
		f, err := os.OpenFile(files[i], os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return undo, err
		}
		sizes[files[i]] = fi.Size()
		err = g.text(f, 4096)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return undo, err
		}
	}
	return undo, nil
}

// treeSize counts the regular files below dir and their bytes.
func treeSize(dir string) (bytes int64, files int) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				bytes += fi.Size()
				files++
			}
		}
		return nil
	})
	return bytes, files
}

func duBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
