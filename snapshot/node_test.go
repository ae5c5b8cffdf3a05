package snapshot

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/blob"
)

func sampleTree() *Tree {
	t0 := time.Unix(1700000000, 123456789).UTC()
	return &Tree{Nodes: []Node{
		{Name: "a.txt", Type: TypeFile, Mode: 0o644, UID: 1000, GID: 1000, User: "ann", Group: "staff",
			ModTime: t0, ChangeTime: t0, AccessTime: t0, Size: 3, Inode: 42, Device: 7, Links: 2,
			Content: []blob.ID{{1}, {2}}, Xattrs: []Xattr{{Name: "user.k", Value: []byte("v")}}},
		{Name: "bin", Type: TypeDir, Mode: 0o4755, Subtree: blob.ID{9}},
		{Name: "dev", Type: TypeCharDev, Rdev: 0x0103},
		{Name: "link", Type: TypeSymlink, LinkTarget: "../x"},
		{Name: "n\xff\xfe", Type: TypeFile, Mode: 0o600},
	}}
}

func TestTreeRoundTrip(t *testing.T) {
	tr := sampleTree()
	b := tr.Encode()
	got, err := DecodeTree(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tr) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, tr)
	}
	if !bytes.Equal(got.Encode(), b) {
		t.Error("encoding is not deterministic")
	}
	if n := got.Find("n\xff\xfe"); n == nil || n.Mode != 0o600 {
		t.Error("non-UTF-8 name lost")
	}
}

func TestTreeRejects(t *testing.T) {
	unsorted := &Tree{Nodes: []Node{{Name: "b", Type: TypeFile}, {Name: "a", Type: TypeFile}}}
	dup := &Tree{Nodes: []Node{{Name: "a", Type: TypeFile}, {Name: "a", Type: TypeDir, Subtree: blob.ID{1}}}}
	badType := &Tree{Nodes: []Node{{Name: "a", Type: 99}}}
	dirNoTree := &Tree{Nodes: []Node{{Name: "a", Type: TypeDir}}}
	for i, tr := range []*Tree{unsorted, dup, badType, dirNoTree} {
		if _, err := DecodeTree(tr.Encode()); !errors.Is(err, ErrFormat) {
			t.Errorf("case %d: %v, want ErrFormat", i, err)
		}
	}
	if _, err := DecodeTree(nil); !errors.Is(err, ErrFormat) {
		t.Error("empty tree blob accepted")
	}
}

func TestValidName(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "a/b", "/etc", "a\x00b"} {
		if ValidName(bad) == "" {
			t.Errorf("ValidName(%q) accepted", bad)
		}
	}
	for _, good := range []string{"a", "...", "..a", "\xff", " "} {
		if why := ValidName(good); why != "" {
			t.Errorf("ValidName(%q) = %s", good, why)
		}
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := &Snapshot{Time: time.Unix(1700000000, 5).UTC(), Tree: blob.ID{1}, Parent: blob.ID{2}, Host: "h", User: "u",
		UID: 1, GID: 2, Paths: []string{"/a", "/b"}, Tags: []string{"x"}, Program: "cairn test",
		Summary: &Summary{BackupStart: time.Unix(1, 0).UTC(), BackupEnd: time.Unix(2, 0).UTC(), FilesNew: 3, DataAdded: 99, ErrorCount: 1}}
	got, err := DecodeSnapshot(s.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, s)
	}
	empty := &Snapshot{Tree: blob.ID{1}, Summary: &Summary{}}
	if got, err := DecodeSnapshot(empty.Encode()); err != nil || got.Summary == nil {
		t.Errorf("empty summary lost: %+v, %v", got, err)
	}
	if _, err := DecodeSnapshot((&Snapshot{}).Encode()); !errors.Is(err, ErrFormat) {
		t.Error("snapshot without tree accepted")
	}
}

func FuzzDecodeTree(f *testing.F) {
	f.Add(sampleTree().Encode())
	f.Add([]byte{1})
	f.Add([]byte{1, 10, 2, 8, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := DecodeTree(b)
		if err != nil {
			return
		}
		again, err := DecodeTree(tr.Encode())
		if err != nil || !reflect.DeepEqual(again, tr) {
			t.Errorf("re-encoded tree differs: %v", err)
		}
	})
}

func FuzzDecodeSnapshot(f *testing.F) {
	f.Add((&Snapshot{Tree: blob.ID{1}, Paths: []string{"/x"}, Summary: &Summary{FilesNew: 1}}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSnapshot(b)
		if err != nil {
			return
		}
		if _, err := DecodeSnapshot(s.Encode()); err != nil {
			t.Errorf("re-encoded snapshot fails: %v", err)
		}
	})
}
