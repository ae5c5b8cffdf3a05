package snapshot

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bmatcuk/doublestar/v4"
)

func TestFilter(t *testing.T) {
	var f Filter
	if err := f.Add([]string{"*.o", "# comment", "", "/home/*/.cache", "node_modules", "logs/", "build/tmp", "!keep.o"}, false); err != nil {
		t.Fatal(err)
	}
	var fi Filter
	if err := fi.Add([]string{"*.JPG"}, true); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		f     *Filter
		path  string
		isDir bool
		want  bool
	}{
		{&f, "/src/a.o", false, true},
		{&f, "/src/a.c", false, false},
		{&f, "/src/keep.o", false, false},
		{&f, "/home/ann/.cache", true, true},
		{&f, "/srv/home/ann/.cache", true, false},
		{&f, "/x/y/node_modules", true, true},
		{&f, "/x/logs", true, true},
		{&f, "/x/logs", false, false},
		{&f, "/p/build/tmp", true, true},
		{&f, "/p/build/tmpx", true, false},
		{&fi, "/pics/A.jpg", false, true},
		{&fi, "/pics/a.JPG", false, true},
		{&f, "/pics/a.JPG", false, false},
	}
	for _, tt := range tests {
		if got := tt.f.Match(tt.path, tt.isDir); got != tt.want {
			t.Errorf("Match(%q, dir=%v) = %v, want %v", tt.path, tt.isDir, got, tt.want)
		}
	}
	var bad Filter
	if err := bad.Add([]string{"[unclosed"}, false); err == nil {
		t.Error("invalid pattern accepted")
	}
}

// naiveMatch is Filter.Match as written first: every pattern in order,
// the last match decides.
func naiveMatch(f *Filter, path string, isDir bool) bool {
	rel := strings.TrimPrefix(path, "/")
	matched := false
	for _, p := range f.patterns {
		if p.dirOnly && !isDir {
			continue
		}
		name := rel
		if p.fold {
			name = strings.ToLower(rel)
		}
		if ok, _ := doublestar.Match(p.glob, name); ok {
			matched = !p.negate
		}
	}
	return matched
}

// The filter's index of literal paths decides as matching every pattern
// in order would, on random patterns (anchored, wildcards, escapes,
// negations, folders only, either case) and paths.
func TestFilterIndexMatchesSequential(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	parts := []string{"a", "B", "c", "*", "?", "d*", "[ab]", `\*`, "**"}
	names := []string{"a", "b", "B", "c", "d1", "*", "dx"}
	for iter := 0; iter < 2000; iter++ {
		var lines []string
		for range 1 + r.IntN(5) {
			var segs []string
			for range 1 + r.IntN(3) {
				segs = append(segs, parts[r.IntN(len(parts))])
			}
			line := strings.Join(segs, "/")
			if r.IntN(2) == 0 {
				line = "/" + line
			}
			if r.IntN(4) == 0 {
				line = "!" + line
			}
			if r.IntN(5) == 0 {
				line += "/"
			}
			lines = append(lines, line)
		}
		f := &Filter{}
		fold := r.IntN(3) == 0
		if err := f.Add(lines, fold); err != nil {
			continue
		}
		if r.IntN(2) == 0 {
			_ = f.Add([]string{"/" + names[r.IntN(len(names))]}, !fold)
		}
		for range 20 {
			var segs []string
			for range 1 + r.IntN(3) {
				segs = append(segs, names[r.IntN(len(names))])
			}
			p, dir := "/"+strings.Join(segs, "/"), r.IntN(2) == 0
			if got, want := f.Match(p, dir), naiveMatch(f, p, dir); got != want {
				t.Fatalf("patterns %q (fold %v), path %s (dir %v): %v, want %v", lines, fold, p, dir, got, want)
			}
		}
	}
}
