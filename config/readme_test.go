package config

import (
	"os"
	"strings"
	"testing"
)

// The cairn.toml examples of the README's "Offsite copies that survive
// ransomware" section are valid configuration.
func TestReadmeRansomwareExamples(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "### Offsite copies that survive ransomware")
	if start < 0 {
		t.Fatal("README has no section on offsite copies that survive ransomware")
	}
	section := text[start:]
	section = section[:strings.Index(section[4:], "\n### ")+4]
	blocks := strings.Split(section, "```toml\n")[1:]
	if len(blocks) != 2 {
		t.Fatalf("%d toml examples, want 2", len(blocks))
	}
	first := dedent(blocks[0][:strings.Index(blocks[0], "```")])
	c, err := Parse("cairn.toml", []byte(first))
	if err != nil {
		t.Fatalf("the backed-up machine's example: %v\n%s", err, first)
	}
	if r := c.Repositories["offsite"]; !r.MaintainedElsewhere() {
		t.Errorf("offsite: maintenance %q", r.Maintenance)
	}
	second := dedent(blocks[1][:strings.Index(blocks[1], "```")])
	c, err = Parse("cairn.toml", []byte(second+"\n[sources.app]\npaths = [\"/srv/app\"]\ntargets = [\"offsite\"]\n"))
	if err != nil {
		t.Fatalf("the maintenance machine's example: %v", err)
	}
	if r := c.Repositories["offsite"]; r.ForMaintenance().S3CredentialsFile != "/etc/cairn/offsite-maintenance.env" {
		t.Errorf("maintenance credentials: %q", r.ForMaintenance().S3CredentialsFile)
	}
}

// dedent removes the indentation of a list item's code block.
func dedent(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		out = append(out, strings.TrimPrefix(l, "   "))
	}
	return strings.Join(out, "\n")
}
