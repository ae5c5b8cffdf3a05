package engine

import (
	"testing"
	"time"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/snapshot"
)

func TestFindQuery(t *testing.T) {
	day := time.Date(2026, 1, 15, 12, 0, 0, 0, time.Local)
	file := &snapshot.Node{Name: "Go.mod", Type: snapshot.TypeFile, ModTime: day, Content: []blob.ID{{0xab, 0xcd}}}
	dir := &snapshot.Node{Name: "src", Type: snapshot.TypeDir, ModTime: day, Subtree: blob.ID{0x12, 0x34}}
	cases := []struct {
		req  FindRequest
		p    string
		n    *snapshot.Node
		want bool
	}{
		{FindRequest{Patterns: []string{"go.mod"}}, "/home/a/Go.mod", file, false},
		{FindRequest{Patterns: []string{"go.mod"}, IgnoreCase: true}, "/home/a/Go.mod", file, true},
		{FindRequest{Patterns: []string{"/home/**/Go.mod"}}, "/home/a/b/Go.mod", file, true},
		{FindRequest{Patterns: []string{"/srv/**/Go.mod"}}, "/home/a/b/Go.mod", file, false},
		{FindRequest{Patterns: []string{"*.mod"}, Oldest: "2026-01-16"}, "/Go.mod", file, false},
		{FindRequest{Patterns: []string{"*.mod"}, Newest: "2026-01-15"}, "/Go.mod", file, true}, // a day bound covers the whole day
		{FindRequest{Patterns: []string{"ABCD"}, ByBlob: true}, "/Go.mod", file, true},
		{FindRequest{Patterns: []string{"abce"}, ByBlob: true}, "/Go.mod", file, false},
		{FindRequest{Patterns: []string{"1234"}, ByTree: true}, "/src", dir, true},
		{FindRequest{Patterns: []string{"1234"}, ByTree: true}, "/Go.mod", file, false},
	}
	for _, c := range cases {
		q, err := ParseFind(c.req)
		if err != nil {
			t.Fatalf("%+v: %v", c.req, err)
		}
		if got, _ := q.Match(nil, c.p, c.n); got != c.want {
			t.Errorf("%+v on %s: %v, want %v", c.req, c.p, got, c.want)
		}
	}
	for _, bad := range []FindRequest{
		{Patterns: []string{"x"}, ByBlob: true, ByPack: true},
		{Patterns: []string{"[unclosed"}},
		{Patterns: []string{"x"}, Oldest: "yesterday"},
	} {
		if _, err := ParseFind(bad); err == nil {
			t.Errorf("ParseFind(%+v) accepted", bad)
		}
	}
}
