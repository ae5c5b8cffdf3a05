package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestExampleParses(t *testing.T) {
	data, err := os.ReadFile("../examples/cairn.toml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("cairn.toml", data)
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	app := c.Sources["app"]
	if got, want := app.RPODuration, time.Hour; got != want {
		t.Errorf("app RPO = %v, want %v", got, want)
	}
	if got, want := c.Primary(app).Name, "local"; got != want {
		t.Errorf("primary = %q, want %q", got, want)
	}
	if got := c.Copies(app); len(got) != 1 || got[0].Name != "offsite" {
		t.Errorf("copies = %v, want [offsite]", got)
	}
	if got, want := strings.Join(app.Retention.ForgetArgs(), " "), "--keep-daily 7 --keep-weekly 4 --keep-monthly 6"; got != want {
		t.Errorf("forget args = %q, want %q", got, want)
	}
	if !slices.Contains(app.Exclude, "node_modules") || !app.ExcludeCaches {
		t.Errorf("dev preset not applied: %v", app.Exclude)
	}
	if kind, arg := c.Sources["app-db"].Database(); kind != "sqlite" || arg != "/srv/app/data/app.db" {
		t.Errorf("app-db database = %q %q", kind, arg)
	}
	if got, want := c.Sources["app-db"].DumpName(), "app.db"; got != want {
		t.Errorf("dump name = %q, want %q", got, want)
	}
}

func TestProblemsHaveLines(t *testing.T) {
	cfg := `[repositories.local]
url = "/tmp/r"
password = "hunter2"

[sources.app]
paths = ["/srv/app", "sqlite:/srv/app.db"]
tier = "gold"
rpo = "soon"
targets = ["local", "nowhere"]
schedule = "every tuesday"
colour = "blue"

[sources.app.retention]
keep-daily = "many"
keep-within = "2 weeks"
`
	_, err := Parse("c.toml", []byte(cfg))
	ps, ok := err.(Problems)
	if !ok {
		t.Fatalf("err = %v, want Problems", err)
	}
	want := map[int]string{
		3:  "passwords are never written",
		6:  "must be the source's only path",
		7:  "unknown tier",
		8:  "duration",
		9:  "unknown repository \"nowhere\"",
		10: "schedule",
		11: "unknown setting",
		14: "want a number",
		15: "duration",
	}
	got := map[int]bool{}
	for _, p := range ps {
		got[p.Line] = true
		if w, ok := want[p.Line]; ok && !strings.Contains(p.Msg, w) {
			t.Errorf("line %d: %q, want it to mention %q", p.Line, p.Msg, w)
		}
		if strings.Contains(p.String(), "hunter2") {
			t.Errorf("a problem repeats the password: %s", p)
		}
	}
	for line := range want {
		if !got[line] {
			t.Errorf("no problem reported on line %d; got:\n%v", line, err)
		}
	}
}

func TestSyntaxErrorHasLine(t *testing.T) {
	_, err := Parse("c.toml", []byte("[repositories.a]\nurl = \"/x\"\n[sources\n"))
	ps, ok := err.(Problems)
	if !ok || len(ps) != 1 || ps[0].Line != 3 {
		t.Fatalf("err = %#v, want one problem on line 3", err)
	}
}

func TestShowMasksSecrets(t *testing.T) {
	cfg := `[repositories.r]
url = "/tmp/r"
password-command = "pass show token-abc"
[notify]
webhook = "https://hooks.example.com/secret-token?key=k1"
[sources.s]
paths = ["/data"]
targets = ["r"]
[sources.s.notify]
ping = "https://hc.example.com/uuid-123"
`
	c, err := Parse("c.toml", []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Show(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"token-abc", "secret-token", "k1", "uuid-123"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("show prints %q:\n%s", secret, out)
		}
	}
	// The merged result holds the tier's defaults and parses again.
	for _, want := range []string{`tier = 'important'`, `rpo = '1d'`, `prune-every = '1d'`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("show lacks %s:\n%s", want, out)
		}
	}
}

// One grammar: "m" is minutes in every duration of the file; keep-within
// in restic's old form ("6m" for six months) is still read as months, with
// a warning that says what to write.
func TestDurationsOneGrammar(t *testing.T) {
	cfg := `[repositories.r]
url = "/tmp/r"
[sources.s]
paths = ["/data"]
targets = ["r"]
rpo = "90m"
[sources.s.retention]
keep-within = "6m"
keep-within-daily = "1y6mo"
prune-every = "1d12h"
`
	c, err := Parse("cairn.toml", []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sources["s"].RPODuration; got != 90*time.Minute {
		t.Errorf("rpo 90m = %v", got)
	}
	if Duration(c.Sources["s"].Retention.PruneEvery) != 36*time.Hour {
		t.Errorf("prune-every 1d12h = %v", Duration(c.Sources["s"].Retention.PruneEvery))
	}
	if len(c.Warnings) != 1 || c.Warnings[0].Line != 8 || !strings.Contains(c.Warnings[0].String(), `write "6mo"`) {
		t.Errorf("warnings: %v", c.Warnings)
	}
	if _, err := Parse("cairn.toml", []byte(strings.Replace(cfg, `rpo = "90m"`, `rpo = "1mo"`, 1))); err == nil ||
		!strings.Contains(err.Error(), "fixed length") {
		t.Errorf("rpo in months: %v", err)
	}
}

func TestFindOrder(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("HOME", filepath.Join(dir, "home"))
	if _, err := Find(""); err != ErrNoConfig {
		t.Errorf("Find with no file: %v, want ErrNoConfig", err)
	}
	home := filepath.Join(dir, "home", ".config", "cairn", "cairn.toml")
	os.MkdirAll(filepath.Dir(home), 0o755)
	os.WriteFile(home, nil, 0o600)
	if got, _ := Find(""); got != home {
		t.Errorf("Find = %q, want %q", got, home)
	}
	os.WriteFile("cairn.toml", nil, 0o600)
	if got, _ := Find(""); got != "cairn.toml" {
		t.Errorf("Find = %q, want ./cairn.toml first", got)
	}
	if got, _ := Find("x.toml"); got != "x.toml" {
		t.Errorf("Find(explicit) = %q", got)
	}
}

func TestTypeErrorsReadable(t *testing.T) {
	_, err := Parse("c.toml", []byte("[repositories.r]\nurl = 5\n"))
	ps, ok := err.(Problems)
	if !ok || len(ps) != 1 || ps[0].Line != 2 || ps[0].Msg != "a TOML integer where a string is expected" {
		t.Errorf("err = %v", err)
	}
}
