package main

import (
	"bytes"
	"strings"
	"testing"
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
