package config

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Problem is one thing wrong with a configuration file.
type Problem struct {
	File string
	Line int // 0 when the problem has no single line
	Key  string
	Msg  string
}

// String formats the problem as FILE:LINE: KEY: MESSAGE.
func (p Problem) String() string {
	where := p.File
	if p.Line > 0 {
		where = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	if p.Key != "" {
		return fmt.Sprintf("%s: %s: %s", where, p.Key, p.Msg)
	}
	return fmt.Sprintf("%s: %s", where, p.Msg)
}

// Problems is every problem found in a configuration file, in line order.
type Problems []Problem

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Parse decodes and validates a configuration file's contents. Every
// problem is returned at once, as Problems, each with its line.
func Parse(file string, data []byte) (*Config, error) {
	var c Config
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&c)
	var strict *toml.StrictMissingError
	var decErr *toml.DecodeError
	switch {
	case errors.As(err, &strict):
		var ps Problems
		for _, e := range strict.Errors {
			line, _ := e.Position()
			ps = append(ps, Problem{File: file, Line: line, Key: strings.Join(e.Key(), "."), Msg: "unknown setting"})
		}
		// Report the unknown keys together with everything else.
		c = Config{}
		lax := toml.NewDecoder(bytes.NewReader(data))
		if err := lax.Decode(&c); err != nil {
			return nil, ps
		}
		v := newValidator(file, data)
		v.problems = ps
		v.config(&c)
		return nil, v.result()
	case errors.As(err, &decErr):
		line, _ := decErr.Position()
		return nil, Problems{{File: file, Line: line, Key: strings.Join(decErr.Key(), "."), Msg: typeMessage(strings.TrimPrefix(decErr.Error(), "toml: "))}}
	case err != nil:
		return nil, Problems{{File: file, Msg: err.Error()}}
	}
	v := newValidator(file, data)
	v.config(&c)
	if err := v.result(); err != nil {
		return nil, err
	}
	c.File = file
	c.Warnings = v.warnings
	if abs, err := filepath.Abs(file); err == nil {
		c.File = abs
	}
	applyDefaults(&c)
	return &c, nil
}

type validator struct {
	file     string
	pos      positions
	problems Problems
	warnings Problems // deprecated forms that are still read
}

func newValidator(file string, data []byte) *validator {
	return &validator{file: file, pos: keyPositions(data)}
}

func (v *validator) errorf(key, format string, args ...any) {
	v.problems = append(v.problems, Problem{File: v.file, Line: v.pos.line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// warnf records a deprecation: the file is read, and the user told.
func (v *validator) warnf(key, format string, args ...any) {
	v.warnings = append(v.warnings, Problem{File: v.file, Line: v.pos.line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) result() error {
	if len(v.problems) == 0 {
		return nil
	}
	sort.SliceStable(v.problems, func(i, j int) bool { return v.problems[i].Line < v.problems[j].Line })
	return v.problems
}

var typeErrRE = regexp.MustCompile(`^cannot decode TOML (\w+) into .* of type (\S+)$`)

// typeMessage rewords the decoder's type errors without Go type names.
func typeMessage(msg string) string {
	m := typeErrRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	want := "a table"
	switch t := m[2]; {
	case t == "string":
		want = "a string"
	case t == "bool":
		want = "true or false"
	case strings.HasPrefix(t, "[]"):
		want = "a list of strings"
	case t == "interface {}":
		want = "a number or a string"
	}
	return fmt.Sprintf("a TOML %s where %s is expected", m[1], want)
}
