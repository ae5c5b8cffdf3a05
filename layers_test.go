// Package cairn_test enforces the package layering drawn in doc/design.md
// ("Layers") and STYLE.md: every arrow between cairn packages, in code and
// in tests, must be on the allow-list below.
package cairn_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cairn-backup/cairn"

// allowed lists, for every package, the cairn packages its code may import.
// Anything else fails the test, so a new arrow is a decision made here, next
// to the picture in doc/design.md, not an accident.
var allowed = map[string][]string{
	"blob":     nil,
	"backend":  nil,
	"chunk":    nil,
	"duration": nil,
	"message":  nil,
	// Backend wrappers and implementations know only the interface.
	"backend/backendtest": {"backend"},
	"backend/cache":       {"backend"},
	"backend/faulty":      {"backend"},
	"backend/limit":       {"backend"},
	"backend/local":       {"backend"},
	"backend/mem":         {"backend"},
	"backend/retry":       {"backend"},
	"backend/s3":          {"backend"},
	"backend/throttle":    {"backend"},
	"backend/s3/s3test":   {"backend/s3"},

	"crypto":   {"blob"},
	"wire":     {"blob"},
	"pack":     {"blob", "crypto"},
	"index":    {"blob", "crypto", "pack"},
	"snapshot": {"blob", "chunk", "duration", "wire"},
	"repo":     {"backend", "blob", "chunk", "crypto", "index", "pack", "snapshot", "wire"},
	"engine": {"backend", "backend/cache", "backend/limit", "backend/local", "backend/retry", "backend/s3", "backend/throttle",
		"blob", "duration", "index", "message", "repo", "snapshot"},

	"mount":     {"blob", "repo", "snapshot"},
	"console":   {"assurance", "duration", "engine", "message", "repo", "snapshot"},
	"config":    {"duration"},
	"routine":   {"config", "message"},
	"schedule":  {"config", "routine"},
	"assurance": {"config", "duration", "message", "repo", "routine", "schedule"},
	"bench":     {"blob", "chunk", "crypto", "pack"},
	"cmd/cairn": {"backend", "backend/faulty",
		"assurance", "bench", "blob", "config", "duration", "engine", "console", "index", "message", "mount", "pack", "repo", "routine", "schedule", "snapshot"},
}

// allowedInTests adds what a package's tests may import besides its own
// allow-list: test backends and helpers, and the concrete backends that
// library tests run against.
var allowedInTests = map[string][]string{
	"backend/faulty":   {"backend/mem"},
	"backend/cache":    {"backend/backendtest", "backend/mem"},
	"backend/limit":    {"backend/backendtest", "backend/mem"},
	"backend/local":    {"backend/backendtest"},
	"backend/mem":      {"backend/backendtest"},
	"backend/retry":    {"backend/backendtest", "backend/faulty", "backend/mem"},
	"backend/s3":       {"backend/backendtest", "backend/s3/s3test"},
	"backend/throttle": {"backend/backendtest", "backend/mem"},
	"repo":             {"backend/faulty", "backend/local", "backend/mem", "backend/s3", "backend/s3/s3test"},
	"engine":           {"backend", "backend/mem", "crypto"},
	"mount":            {"backend", "backend/mem", "crypto"},
	"console":          {"config", "routine"},
	"cmd/cairn":        {"backend/local", "backend/s3/s3test"},
}

// forbidden names arrows that must never exist, with the reason; the
// allow-list above must not contain them either.
var forbidden = []struct{ from, to, why string }{
	{"snapshot", "backend", "the archiver and restorer see only the small interfaces they declare (BlobSaver, BlobLoader)"},
	{"snapshot", "repo", "the archiver and restorer see only the small interfaces they declare"},
	{"backend", "*", "storage knows nothing of cairn's format: the backend layer imports no cairn package"},
	{"*", "cmd/cairn", "nothing imports the command"},
	{"repo", "routine", "the engine never depends on the operations layer above it"},
	{"engine", "routine", "the engine never depends on the operations layer above it"},
	{"routine", "schedule", "the routine does not know what schedules it"},
	{"routine", "assurance", "the routine does not know who audits it"},
	{"engine", "config", "the engine takes typed options, never the configuration file"},
	{"repo", "config", "the engine never reads the configuration file"},
	{"config", "repo", "the configuration file is parsed without the engine"},
	{"duration", "*", "the duration grammar is a leaf that every layer may use"},
	{"crypto", "pack", "sealing knows nothing of pack layout"},
}

type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func rel(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, module), "/") }

func cairnImports(list []string, self string) []string {
	var out []string
	for _, imp := range list {
		if strings.HasPrefix(imp, module+"/") && rel(imp) != self {
			out = append(out, rel(imp))
		}
	}
	return out
}

func matches(pattern, p string) bool {
	return pattern == "*" || p == pattern || strings.HasPrefix(p, pattern+"/")
}

func TestLayering(t *testing.T) {
	for _, f := range forbidden {
		for from, tos := range allowed {
			for _, to := range tos {
				if matches(f.from, from) && matches(f.to, to) && !(f.from == "backend" && strings.HasPrefix(to, "backend")) {
					t.Errorf("the allow-list lets %s import %s, a forbidden arrow: %s", from, to, f.why)
				}
			}
		}
	}
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.ImportPath == module {
			continue
		}
		from := rel(p.ImportPath)
		allow, ok := allowed[from]
		if !ok {
			t.Errorf("package %s is not on the layering allow-list; add it to layers_test.go and to the picture in doc/design.md", from)
			continue
		}
		for _, to := range cairnImports(p.Imports, from) {
			checked++
			if !slices.Contains(allow, to) {
				t.Errorf("%s imports %s: not on the allow-list (%s may import %v)", from, to, from, allow)
			}
		}
		testAllow := append(slices.Clone(allow), allowedInTests[from]...)
		for _, to := range cairnImports(append(p.TestImports, p.XTestImports...), from) {
			checked++
			if !slices.Contains(testAllow, to) {
				t.Errorf("tests of %s import %s: not on the allow-list (tests may import %v)", from, to, testAllow)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no cairn imports were checked")
	}
}
