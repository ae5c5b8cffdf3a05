// Package cairn_test enforces the package layering described in STYLE.md
// and doc/design.md: imports point one way, from cmd down to blob.
package cairn_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/cairn-backup/cairn"

// rank orders the layers; a package may import only packages of lower rank,
// or its own parent (backend subpackages import backend).
var rank = map[string]int{
	"blob": 0, "backend": 0, "chunk": 0,
	"crypto": 1, "pack": 2, "index": 3, "snapshot": 3,
	"repo": 4, "profile": 4, "bench": 5, "ops": 5, "cmd": 6,
}

func layer(pkg string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	return strings.SplitN(rel, "/", 2)[0]
}

func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		from := layer(p.ImportPath)
		if p.ImportPath == module {
			continue
		}
		r, ok := rank[from]
		if !ok {
			t.Errorf("package %s is in no known layer; add it to rank", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			checked++
			to := layer(imp)
			switch {
			case to == from && from == "backend":
				// backend/local etc. import backend itself.
			case to == from:
				t.Errorf("%s imports %s within its own layer", p.ImportPath, imp)
			case to == "cmd" || (to == "bench" && from != "cmd"):
				t.Errorf("%s imports %s: only the cairn command may import bench, and nothing cmd", p.ImportPath, imp)
			case from == "backend":
				t.Errorf("%s imports %s: the backend layer imports no cairn package", p.ImportPath, imp)
			case rank[to] >= r:
				t.Errorf("%s (layer %s) imports %s (layer %s): imports must point down", p.ImportPath, from, imp, to)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no cairn imports were checked")
	}
}
