package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/engine"
	"github.com/cairn-backup/cairn/message"
	"github.com/cairn-backup/cairn/pack"
	"github.com/cairn-backup/cairn/repo"
	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// globals holds the global options and the process's streams.
type globals struct {
	repo            string
	passwordFile    string
	passwordCommand string
	compression     string
	json            bool
	quiet           bool
	verbose         int
	retryLock       time.Duration
	cacert          string
	tlsClientCert   string
	extOptions      []string // -o key=value
	cacheDir        string
	maxMemory       string // --max-memory
	memPlan         engine.MemoryPlan
	objectLock      bool // init: create the bucket with object locking
	noCache         bool
	s3Addressing    string
	connections     int
	retryTimeout    time.Duration
	configFile      string
	repoFile        string
	insecureTLS     bool
	noLock          bool
	limitUpload     int // KiB/s; 0: none
	limitDownload   int

	stdout, stderr io.Writer
	stdin          io.Reader
	exitCode       int
	// itemErrors counts the entries reported by reportItemError, for the
	// progress line's error count; prog is the progress display drawn on
	// the terminal, if any, which writeLine erases before a line. Both are
	// guarded by outputMu.
	itemErrors uint64
	prog       *progress

	// s3Creds, when set, are the S3 credentials of the repository -r
	// names (from its s3-credentials-file), used instead of the process
	// environment's AWS_* variables. Each configured repository gets its
	// own; none is ever put into the environment.
	s3Creds []string
	// s3FromCreds are the credentials of a copy's source, when set.
	s3FromCreds []string
	// repoCache, when set, keeps opened repositories across the commands
	// of a run (see inProcess); usedRepos are the keys this command used.
	repoCache *inProcess
	usedRepos []string
	// workDir is where password commands run ("": the working directory;
	// inside a run, the configuration file's directory).
	workDir string
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "cairn",
		Short: "Deduplicating, encrypted backups",
		Long: `cairn backs up files into a content-addressed, deduplicating, encrypted
repository on local disk or S3 (MinIO and other S3-compatible servers).

Commands such as backup, restore and check work on one repository; the
repository and password come from flags or the environment:
  CAIRN_REPOSITORY        repository location (-r/--repo)
  CAIRN_PASSWORD          the password itself
  CAIRN_PASSWORD_FILE     a file holding the password (--password-file)
  CAIRN_PASSWORD_COMMAND  a command printing the password (--password-command)

Exit codes: 0 success, 1 error, 3 backup made but some files unreadable,
10 no repository, 11 lock failed, 12 wrong password, 13 permission denied by
the storage, 130 interrupted.

run, schedule, daemon, drill, audit, gate, runbook and status work from a
configuration file of repositories and sources (--config, ./cairn.toml or
~/.config/cairn/cairn.toml; see "cairn config --help").`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	f.StringVarP(&g.repo, "repo", "r", os.Getenv("CAIRN_REPOSITORY"), "repository `location`: a path, local:PATH or s3:http(s)://HOST/BUCKET[/PREFIX] (env CAIRN_REPOSITORY)")
	f.StringVar(&g.repoFile, "repository-file", os.Getenv("CAIRN_REPOSITORY_FILE"), "read the repository location from `file` (env CAIRN_REPOSITORY_FILE)")
	f.StringVar(&g.passwordFile, "password-file", os.Getenv("CAIRN_PASSWORD_FILE"), "read the password from `file` (env CAIRN_PASSWORD_FILE)")
	f.StringVar(&g.passwordCommand, "password-command", os.Getenv("CAIRN_PASSWORD_COMMAND"), "run `command` and read the password from its output (env CAIRN_PASSWORD_COMMAND)")
	f.StringVar(&g.compression, "compression", "auto", "compression `mode`: auto, off or max")
	f.BoolVar(&g.json, "json", false, "print machine-readable JSON")
	f.BoolVarP(&g.quiet, "quiet", "q", false, "print only errors")
	f.CountVarP(&g.verbose, "verbose", "v", "print more (repeat for more)")
	durationVar(f, &g.retryLock, "retry-lock", 0, "wait up to `duration` (10m, 2h, 1d) for a conflicting lock to go away")
	f.StringVar(&g.cacert, "cacert", os.Getenv("CAIRN_CACERT"), "trust the private CA in PEM `file` for https S3 endpoints (env CAIRN_CACERT)")
	f.StringVar(&g.tlsClientCert, "tls-client-cert", os.Getenv("CAIRN_TLS_CLIENT_CERT"), "authenticate to the S3 server with the certificate and key in PEM `file` (env CAIRN_TLS_CLIENT_CERT)")
	f.StringVar(&g.maxMemory, "max-memory", os.Getenv("CAIRN_MAX_MEMORY"), "keep cairn within `size` of memory (512MiB, say): slower, never out of memory (env CAIRN_MAX_MEMORY)")
	f.StringVar(&g.cacheDir, "cache-dir", os.Getenv("CAIRN_CACHE_DIR"), "keep the cache of remote repositories in `dir` (default ~/.cache/cairn; env CAIRN_CACHE_DIR)")
	f.BoolVar(&g.noCache, "no-cache", false, "do not use a local cache of a remote repository's keys, index and snapshots")
	f.StringArrayVarP(&g.extOptions, "option", "o", nil, "set a storage option `key=value` (repeatable): "+storageOptionKeys())
	f.IntVar(&g.limitUpload, "limit-upload", 0, "send at most `KiB/s` to the storage (0: no limit)")
	f.IntVar(&g.limitDownload, "limit-download", 0, "receive at most `KiB/s` from the storage (0: no limit)")
	f.BoolVar(&g.insecureTLS, "insecure-tls", false, "do not verify the S3 server's TLS certificate (test servers only)")
	f.BoolVar(&g.noLock, "no-lock", false, "take no lock (commands that only read; the repository must not change meanwhile)")
	f.StringVar(&g.s3Addressing, "s3-addressing", "auto", "S3 bucket `style`: path, virtual or auto")
	durationVar(f, &g.retryTimeout, "retry-timeout", 2*time.Minute, "give up on a failing storage request after `duration` of retries")
	f.StringVar(&g.configFile, "config", os.Getenv("CAIRN_CONFIG"), "configuration `file` (default ./cairn.toml, then ~/.config/cairn/cairn.toml; env CAIRN_CONFIG)")
	f.IntVar(&g.connections, "connections", 0, "concurrent requests to the storage (default: 16 for S3, 2×CPUs locally)")
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.AddCommand(newInitCmd(g), newKeyCmd(g), newCatCmd(g), newListCmd(g), newGenerateCmd(g), newVersionCmd(g), newBackupCmd(g), newRestoreCmd(g),
		newSnapshotsCmd(g), newLsCmd(g), newFindCmd(g), newDiffCmd(g), newDumpCmd(g), newStatsCmd(g), newTagCmd(g), newRewriteCmd(g), newCacheCmd(g), newMountCmd(g), newServeCmd(g),
		newCheckCmd(g), newRepairCmd(g), newForgetCmd(g), newPruneCmd(g), newUnlockCmd(g),
		newCopyCmd(g), newBenchCmd(g), newConfigCmd(g), newRunCmd(g), newScheduleCmd(g), newDaemonCmd(g),
		newDrillCmd(g), newDrillsCmd(g), newAuditCmd(g), newStatusCmd(g), newGateCmd(g), newRunbookCmd(g))
	groupCommands(root)
	return root
}

// commandGroups are the headings of "cairn --help", in order, with the
// commands under each: what a user does every day first, developer tools
// last.
var commandGroups = []struct {
	id, title string
	commands  []string
}{
	{"everyday", "Everyday:", []string{"backup", "restore", "snapshots", "ls", "find", "diff", "dump", "mount", "stats"}},
	{"operations", "Operations and assurance (from cairn.toml):", []string{"run", "schedule", "daemon", "serve", "status", "drill", "drills", "audit", "gate", "runbook", "config"}},
	{"maintenance", "Maintenance:", []string{"check", "forget", "prune", "repair", "rewrite", "tag", "copy", "unlock", "key", "cache"}},
	{"inspection", "Inspection:", []string{"cat", "list"}},
	{"setup", "Setup and tools:", []string{"init", "generate", "version", "bench"}},
}

// groupCommands puts every command under its heading. Shell completions
// come from "generate" (restic's way), so cobra's own completion command
// is left out.
func groupCommands(root *cobra.Command) {
	root.CompletionOptions.DisableDefaultCmd = true
	group := map[string]string{}
	for _, gr := range commandGroups {
		root.AddGroup(&cobra.Group{ID: gr.id, Title: gr.title})
		for _, c := range gr.commands {
			group[c] = gr.id
		}
	}
	for _, c := range root.Commands() {
		c.GroupID = group[c.Name()]
	}
	root.SetHelpCommandGroupID("setup")
}

// openBackend opens the storage of the repository given by -r or
// --repository-file.
func (g *globals) openBackend() (backend.Backend, error) {
	if g.repo == "" && g.repoFile != "" {
		b, err := os.ReadFile(g.repoFile)
		if err != nil {
			return nil, fmt.Errorf("read repository file: %w", err)
		}
		if g.repo = strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]); g.repo == "" {
			return nil, fmt.Errorf("repository file %s is empty", g.repoFile)
		}
	}
	if g.repo == "" {
		return nil, errors.New("no repository given: use -r/--repo or set CAIRN_REPOSITORY")
	}
	return g.openLocation(g.repo, g.s3Creds, "")
}

// openLocation opens the storage at loc with the global options. creds,
// when not nil, are its S3 credentials; else they come from the
// environment (envPrefix+AWS_* first, when given).
func (g *globals) openLocation(loc string, creds []string, envPrefix string) (backend.Backend, error) {
	s := engine.Storage{Location: loc, S3Creds: creds, EnvPrefix: envPrefix,
		CACert: g.cacert, ClientCert: g.tlsClientCert, Addressing: g.s3Addressing, InsecureTLS: g.insecureTLS, Connections: g.connections,
		RetryTimeout: g.retryTimeout, OnRetry: g.retryNotice, LimitUpload: g.limitUpload, LimitDownload: g.limitDownload,
		Wrap: g.testHooks, CacheDir: g.cacheLocation(), ObjectLock: g.objectLock}
	if err := s.ApplyOptions(g.extOptions); err != nil {
		return nil, err
	}
	return engine.OpenStorage(s)
}

func (g *globals) options() (repo.Options, error) {
	c, err := pack.ParseCompression(g.compression)
	return repo.Options{Compression: c, Connections: g.connections}, err
}

// password returns the repository password from, in order: the password
// command, the password file, CAIRN_PASSWORD, or a prompt on a terminal.
func (g *globals) password(ctx context.Context, prompt string) ([]byte, error) {
	switch {
	case g.passwordCommand != "":
		return engine.PasswordFromCommand(ctx, g.passwordCommand, g.workDir)
	case g.passwordFile != "":
		return engine.ReadPasswordFile(g.passwordFile)
	}
	if pw, ok := os.LookupEnv("CAIRN_PASSWORD"); ok {
		if pw == "" {
			return nil, errors.New("CAIRN_PASSWORD is set but empty")
		}
		return []byte(pw), nil
	}
	return g.promptPassword(prompt)
}

func (g *globals) promptPassword(prompt string) ([]byte, error) {
	f, ok := g.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, errors.New("no password given: set CAIRN_PASSWORD, CAIRN_PASSWORD_FILE or --password-file")
	}
	fmt.Fprint(g.stderr, prompt)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(g.stderr)
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	return engine.CheckPassword(pw, "the password")
}

// newPassword asks for a new password: from newFile if given, else twice on
// the terminal.
func (g *globals) newPassword(newFile string) ([]byte, error) {
	if newFile != "" {
		return engine.ReadPasswordFile(newFile)
	}
	pw, err := g.promptPassword("enter new password: ")
	if err != nil {
		return nil, fmt.Errorf("%w (or give --new-password-file)", err)
	}
	again, err := g.promptPassword("enter new password again: ")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(pw, again) {
		return nil, errors.New("the passwords do not match")
	}
	return pw, nil
}

// openRepo opens the repository named by the global options.
func (g *globals) openRepo(ctx context.Context) (*repo.Repository, error) {
	return g.openRepoIndex(ctx, false)
}

// openRepoIndex opens the repository; with deferIndex its index is loaded
// only by the lock that the caller takes next (lock, then load).
func (g *globals) openRepoIndex(ctx context.Context, deferIndex bool) (*repo.Repository, error) {
	return g.kept(ctx, repoKey(g.repo, g.passwordFile, g.passwordCommand, g.s3Creds), !deferIndex,
		func() (*repo.Repository, error) { return g.openRepoFresh(ctx, deferIndex) })
}

// kept returns the repository a run keeps under key, opening it with open
// the first time; outside a run it just opens. A kept repository whose
// caller will not lock it (refresh) re-reads its index if another process
// changed the index files; Lock does that for the others.
func (g *globals) kept(ctx context.Context, key string, refresh bool, open func() (*repo.Repository, error)) (*repo.Repository, error) {
	if g.repoCache == nil {
		return open()
	}
	g.usedRepos = append(g.usedRepos, key)
	if r := g.repoCache.get(key); r != nil {
		if refresh {
			if _, err := r.RefreshIndex(ctx); err != nil {
				return nil, err
			}
		}
		return r, nil
	}
	r, err := open()
	if err == nil {
		g.repoCache.keep(key, r)
	}
	return r, err
}

// openRepoFresh opens the repository, deriving the key and (unless
// deferred to the lock) loading the index.
func (g *globals) openRepoFresh(ctx context.Context, deferIndex bool) (*repo.Repository, error) {
	be, err := g.openBackend()
	if err != nil {
		return nil, err
	}
	opts, err := g.options()
	if err != nil {
		return nil, err
	}
	opts.Warn = func(err error) { fmt.Fprintf(g.stderr, "warning: %v\n", err) }
	opts.DeferIndex = deferIndex
	// Fails with exit 10 before asking for a password.
	r, err := engine.Open(ctx, be, g.repo, func() ([]byte, error) { return g.password(ctx, "enter password for repository: ") }, opts)
	if err == nil && g.maxMemory != "" {
		err = g.capMemory(r)
	}
	if err != nil {
		return nil, err
	}
	if !deferIndex {
		g.warnIndex(r)
	}
	g.verbosef(1, "repository %s opened with key %s\n", r.Config().ID.Short(), r.KeyName()[:8])
	return r, nil
}

// warnIndex names the index files that could not be loaded.
func (g *globals) warnIndex(r *repo.Repository) {
	for _, err := range r.IndexErrors() {
		fmt.Fprintf(g.stderr, "warning: %v (run \"cairn check\", then \"cairn repair index\")\n", err)
	}
}

// lock takes a shared or exclusive lock on r and returns the function
// that releases it. The repository's index is loaded (again) once the lock
// is held, if it was deferred or the lock had to wait.
func (g *globals) lock(ctx context.Context, r *repo.Repository, exclusive bool) (func(), error) {
	deferred := !r.IndexLoaded()
	l, err := r.Lock(ctx, repo.LockOptions{Exclusive: exclusive, Retry: g.retryLock})
	if err != nil {
		return nil, err
	}
	if deferred {
		g.warnIndex(r)
	}
	return func() {
		if err := l.Unlock(); err != nil {
			fmt.Fprintf(g.stderr, "warning: could not remove lock %s: %v\n", l.Info().Name[:8], err)
		}
	}, nil
}

// openLocked opens the repository and locks it.
func (g *globals) openLocked(ctx context.Context, exclusive bool) (*repo.Repository, func(), error) {
	if g.noLock {
		return nil, nil, errors.New("--no-lock is for commands that only read (restore, check, ls, snapshots...); this one changes the repository")
	}
	r, err := g.openRepoIndex(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	unlock, err := g.lock(ctx, r, exclusive)
	if err != nil {
		return nil, nil, err
	}
	r.BindUploads(ctx) // Ctrl-C stops uploads in flight too
	return r, unlock, nil
}

// openReading opens the repository for a command that only reads: with a
// shared lock, or none with --no-lock (a read-only mount, say).
func (g *globals) openReading(ctx context.Context) (*repo.Repository, func(), error) {
	if g.noLock {
		r, err := g.openRepo(ctx)
		return r, func() {}, err
	}
	return g.openLocked(ctx, false)
}

// printf prints unless --quiet.
func (g *globals) printf(format string, args ...any) {
	if !g.quiet {
		fmt.Fprintf(g.stdout, format, args...)
	}
}

// verbosef prints at verbosity level or above, to stderr.
func (g *globals) verbosef(level int, format string, args ...any) {
	if g.verbose >= level && !g.quiet {
		g.writeLine(g.stderr, fmt.Sprintf(format, args...))
	}
}

// printJSON writes v as one line of JSON.
func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// jsonLine encodes v as one line of JSON.
func jsonLine(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return b.String(), err
}

// retryNotice says, on stderr, that a storage request failed and when it
// is tried again, so that a slow or unreachable endpoint is never silence.
func (g *globals) retryNotice(op string, h backend.Handle, err error, wait time.Duration) {
	item := h.String()
	if op == "create" {
		item = "bucket"
	}
	if g.json {
		line, _ := jsonLine(message.Retry{MessageType: message.TypeRetry, Operation: op, Item: item, Error: err.Error(), RetryIn: wait.Seconds()})
		fmt.Fprint(g.stderr, line)
		return
	}
	if !g.quiet {
		fmt.Fprintf(g.stderr, "storage: %s %s failed (%v); retrying in %v\n", op, item, err, wait.Round(100*time.Millisecond))
	}
}

// storageOptionKeys lists the -o keys for the flag's help.
func storageOptionKeys() string {
	keys := make([]string, len(engine.StorageOptions))
	for i, o := range engine.StorageOptions {
		keys[i] = o.Key
	}
	return strings.Join(keys, ", ")
}

// cacheLocation is where remote repositories are cached: --cache-dir, or
// the user's cache folder; "" with --no-cache or without a home.
func (g *globals) cacheLocation() string {
	if g.noCache {
		return ""
	}
	if g.cacheDir != "" {
		return g.cacheDir
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "cairn")
}

// capMemory fits the command into --max-memory for r's pack size.
func (g *globals) capMemory(r *repo.Repository) error {
	size, err := humanize.ParseBytes(g.maxMemory)
	if err != nil || size == 0 {
		return fmt.Errorf("--max-memory %q: want a size such as 512MiB", g.maxMemory)
	}
	plan, err := engine.PlanMemory(int64(size), int64(r.Config().PackSize))
	if err != nil {
		return err
	}
	r.LimitUploads(plan.Connections / 2)
	plan.Apply()
	g.memPlan = plan
	g.verbosef(1, "memory capped at %s: %d uploads at once, %d files read at once, %s of restore pack cache\n",
		humanize.IBytes(size), plan.Connections/2, plan.ReadConcurrency, humanize.IBytes(uint64(plan.PackCache)))
	return nil
}
