package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// cairn --help lists every command under a heading, in the order a user
// needs them, and has no completion command beside generate.
func TestHelpGroups(t *testing.T) {
	var out bytes.Buffer
	g := &globals{stdout: &out, stderr: &out}
	root := newRootCmd(g)
	root.SetArgs([]string{"--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	last := -1
	for _, gr := range commandGroups {
		i := strings.Index(help, "\n"+gr.title+"\n")
		if i < 0 || i < last {
			t.Errorf("heading %q missing or out of order", gr.title)
		}
		last = i
	}
	if strings.Contains(help, "Additional Commands:") || strings.Contains(help, "Available Commands:") {
		t.Errorf("some commands are under no heading:\n%s", help)
	}
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			t.Error("cobra's completion command is still there beside generate")
		}
		if !c.Hidden && c.GroupID == "" && c.Name() != "help" {
			t.Errorf("%s has no heading", c.Name())
		}
	}
}

// roffText is the text a man page shows: requests dropped, font changes
// and escapes undone, white space collapsed.
func roffText(roff string) string {
	var lines []string
	for _, l := range strings.Split(roff, "\n") {
		if !strings.HasPrefix(l, ".") {
			lines = append(lines, l)
		}
	}
	s := strings.NewReplacer(`\fB`, "", `\fI`, "", `\fR`, "", `\fP`, "", `\&`, "", `\-`, "-", `\(aq`, "'", `\e`, `\`, `\\`, `\`,
		`\(lq`, `"`, `\(rq`, `"`, `\(cq`, "'", `\(oq`, "'").Replace(strings.Join(lines, " "))
	return strings.Join(strings.Fields(s), " ")
}

// The man pages say exactly what --help says: every command's long help
// and every flag's description appear in its page word for word (stars,
// underscores and brackets included).
func TestManPagesSayWhatHelpSays(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	gen := newRootCmd(&globals{stdout: &out, stderr: &out})
	gen.SetArgs([]string{"generate", "--man", dir})
	if err := gen.Execute(); err != nil {
		t.Fatal(err)
	}
	help := newRootCmd(&globals{stdout: &out, stderr: &out}) // unescaped texts
	var check func(c *cobra.Command)
	check = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		page := filepath.Join(dir, strings.ReplaceAll(c.CommandPath(), " ", "-")+".1")
		b, err := os.ReadFile(page)
		if err != nil {
			t.Errorf("%s: %v", c.CommandPath(), err)
			return
		}
		text := roffText(string(b))
		// A list's markers become the page's list layout.
		long := strings.Join(strings.Fields(listMarker.ReplaceAllString(c.Long, "")), " ")
		if !strings.Contains(text, long) {
			t.Errorf("%s: the man page does not say the help's text %q", page, long)
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			_, usage := pflag.UnquoteUsage(f)
			if u := strings.Join(strings.Fields(usage), " "); !strings.Contains(text, u) {
				t.Errorf("%s: --%s reads %q in the help, not in the man page", page, f.Name, u)
			}
		})
		for _, sub := range c.Commands() {
			check(sub)
		}
	}
	check(help)
	if !strings.Contains(roffText(mustRead(t, filepath.Join(dir, "cairn-backup.1"))), `"*.o" and "node_modules" match at any depth, "/home/*/.cache"`) {
		t.Error(`cairn-backup.1 garbles "*.o" or "/home/*/.cache"`)
	}
}

// listMarker is the start of a markdown list item.
var listMarker = regexp.MustCompile(`(?m)^\s*(-|\d+\.)\s+`)

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
