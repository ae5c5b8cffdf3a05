package snapshot

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Filter decides which paths are excluded, with gitignore-style patterns
// matched against absolute, slash-separated paths:
//
//   - a pattern that starts with "/" is anchored at the filesystem root
//     ("/home/*/.cache");
//   - any other pattern matches at any depth ("*.o", "node_modules",
//     "build/tmp");
//   - "*" and "?" match within one path component, "**" across components;
//   - a trailing "/" matches directories only ("logs/");
//   - a leading "!" re-includes what earlier patterns excluded; the last
//     matching pattern wins;
//   - a directory that is excluded is not entered.
type Filter struct {
	patterns []pattern
	// literal indexes the anchored patterns without wildcards (a drill's
	// sample names thousands of files so) by the path they name; globs
	// are the indices of the others, matched one by one.
	literal map[string][]int
	globs   []int
	fold    bool // some pattern ignores case: paths are lowered too
}

type pattern struct {
	glob    string
	negate  bool
	dirOnly bool
	fold    bool
}

// Add parses patterns; fold makes them case-insensitive (--iexclude).
// Empty lines and lines starting with "#" are ignored.
func (f *Filter) Add(lines []string, fold bool) error {
	for _, line := range lines {
		line = strings.TrimRight(line, " \t\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := pattern{fold: fold}
		f.fold = f.fold || fold
		if strings.HasPrefix(line, "!") {
			p.negate, line = true, line[1:]
		}
		if strings.HasSuffix(line, "/") && len(line) > 1 {
			p.dirOnly, line = true, strings.TrimRight(line, "/")
		}
		if strings.HasPrefix(line, "/") {
			p.glob = strings.TrimPrefix(line, "/")
		} else {
			p.glob = "**/" + line
		}
		if fold {
			p.glob = strings.ToLower(p.glob)
		}
		if !doublestar.ValidatePattern(p.glob) {
			return fmt.Errorf("invalid pattern %q", line)
		}
		f.patterns = append(f.patterns, p)
		i := len(f.patterns) - 1
		if lit, ok := literalPath(p.glob); ok && !strings.HasPrefix(line, "**") {
			if f.literal == nil {
				f.literal = map[string][]int{}
			}
			f.literal[lit] = append(f.literal[lit], i)
		} else {
			f.globs = append(f.globs, i)
		}
	}
	return nil
}

// literalPath returns the path an anchored pattern names when it has no
// wildcard, with its escapes undone.
func literalPath(glob string) (string, bool) {
	if strings.HasPrefix(glob, "**/") {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(glob); i++ {
		c := glob[i]
		switch {
		case c == '\\' && i+1 < len(glob):
			i++
			b.WriteByte(glob[i])
		case strings.IndexByte("*?[]{}\\", c) >= 0:
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// AddFile reads patterns from a file, one per line.
func (f *Filter) AddFile(name string, fold bool) error {
	fh, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("exclude file: %w", err)
	}
	defer func() { _ = fh.Close() }()
	var lines []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("exclude file %s: %w", name, err)
	}
	return f.Add(lines, fold)
}

// FilterSpec is the exclusion patterns as a user gives them: --exclude,
// --iexclude (case-insensitive), --exclude-file and --iexclude-file.
type FilterSpec struct {
	Excludes, IExcludes, ExcludeFiles, IExcludeFiles []string
}

// NewFilter builds the filter of spec.
func NewFilter(spec FilterSpec) (*Filter, error) {
	f := &Filter{}
	if err := f.Add(spec.Excludes, false); err != nil {
		return nil, err
	}
	if err := f.Add(spec.IExcludes, true); err != nil {
		return nil, err
	}
	for _, name := range spec.ExcludeFiles {
		if err := f.AddFile(name, false); err != nil {
			return nil, err
		}
	}
	for _, name := range spec.IExcludeFiles {
		if err := f.AddFile(name, true); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Empty reports whether the filter has no patterns.
func (f *Filter) Empty() bool { return f == nil || len(f.patterns) == 0 }

// Match reports whether path (absolute, slash-separated) is matched by the
// patterns: the last matching pattern decides, and a negated one un-matches.
func (f *Filter) Match(path string, isDir bool) bool {
	if f.Empty() {
		return false
	}
	rel := strings.TrimPrefix(path, "/")
	lower := rel
	if f.fold {
		lower = strings.ToLower(rel)
	}
	// The last matching pattern decides: find the highest one that
	// matches, among the literal paths (a lookup) and the globs.
	last := -1
	applies := func(i int) bool { return !f.patterns[i].dirOnly || isDir }
	literal := func(key string, fold bool) {
		for _, i := range f.literal[key] {
			if f.patterns[i].fold == fold && applies(i) {
				last = max(last, i)
			}
		}
	}
	literal(rel, false)
	if f.fold {
		literal(lower, true)
	}
	for k := len(f.globs) - 1; k >= 0; k-- {
		i := f.globs[k]
		if i <= last {
			break // an earlier pattern cannot decide over a later match
		}
		p := f.patterns[i]
		if !applies(i) {
			continue
		}
		name := rel
		if p.fold {
			name = lower
		}
		if ok, _ := doublestar.Match(p.glob, name); ok {
			last = i
			break
		}
	}
	return last >= 0 && !f.patterns[last].negate
}
