package config

import (
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// positions maps dotted key paths ("sources.app.rpo") to the line that
// defines them, so that validation can name the line of each problem.
type positions map[string]int

// keyPositions walks the document's expressions. It tolerates syntax
// errors: decoding reports those.
func keyPositions(data []byte) positions {
	pos := positions{}
	p := unstable.Parser{}
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = keyParts(e.Key())
			pos.set(table, lineOf(&p, e))
		case unstable.KeyValue:
			full := append(append([]string{}, table...), keyParts(e.Key())...)
			pos.set(full, lineOf(&p, e))
		}
	}
	return pos
}

func (pos positions) set(key []string, line int) {
	k := strings.Join(key, ".")
	if _, ok := pos[k]; !ok && line > 0 {
		pos[k] = line
	}
}

// line returns the line of key, or of its nearest defined parent.
func (pos positions) line(key string) int {
	for k := key; k != ""; {
		if l, ok := pos[k]; ok {
			return l
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

func keyParts(it unstable.Iterator) []string {
	var out []string
	for it.Next() {
		out = append(out, string(it.Node().Data))
	}
	return out
}

func lineOf(p *unstable.Parser, e *unstable.Node) int {
	it := e.Key()
	if !it.Next() {
		return 0
	}
	n := it.Node()
	if n.Raw.Length == 0 {
		return 0
	}
	return p.Shape(n.Raw).Start.Line
}
