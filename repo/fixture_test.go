package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/local"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/snapshot"
)

var update = flag.Bool("update", false, "rewrite the fixture repository in testdata")

const fixtureDir = "testdata/fixture-v1"

var fixturePassword = []byte("fixture password")

func fixtureBlob(i int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("fixture blob %d\n", i)), 1+i*300)
}

// fixtureTime is the time of every object in the fixture.
var fixtureTime = time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)

// fixtureNodes is a directory holding every node type with every field
// set; content is the data blob of its file, sub the subtree.
func fixtureNodes(content, sub blob.ID) []snapshot.Node {
	t := func(d time.Duration) time.Time { return fixtureTime.Add(d) }
	return []snapshot.Node{
		{Name: "block", Type: snapshot.TypeBlockDev, Mode: 0o660, Rdev: 8<<8 | 1, ModTime: t(1)},
		{Name: "char", Type: snapshot.TypeCharDev, Mode: 0o666, Rdev: 1<<8 | 3, ModTime: t(2)},
		{Name: "dir", Type: snapshot.TypeDir, Mode: 0o1755, UID: 10, GID: 20, User: "ann", Group: "staff", ModTime: t(3), Subtree: sub},
		{Name: "fifo", Type: snapshot.TypeFIFO, Mode: 0o600, ModTime: t(4)},
		{Name: "file", Type: snapshot.TypeFile, Mode: 0o4755, UID: 1000, GID: 1001, User: "bob", Group: "users",
			ModTime: t(5), ChangeTime: t(6), AccessTime: t(7), Size: uint64(len(fixtureBlob(0))), Inode: 4242, Device: 2049,
			Links: 2, Content: []blob.ID{content}, Xattrs: []snapshot.Xattr{{Name: "user.a", Value: []byte("1")}, {Name: "user.b", Value: []byte{0, 255}}}},
		{Name: "link", Type: snapshot.TypeSymlink, Mode: 0o777, LinkTarget: "../file", ModTime: t(8)},
		{Name: "n\xff\xfe", Type: snapshot.TypeFile, Mode: 0o644, ModTime: t(9)},
		{Name: "sock", Type: snapshot.TypeSocket, Mode: 0o755, ModTime: t(10)},
	}
}

func fixtureSnapshot(tree blob.ID) *snapshot.Snapshot {
	var parent, original blob.ID
	parent[0], original[0] = 0xaa, 0xbb
	return &snapshot.Snapshot{Time: fixtureTime, Tree: tree, Parent: parent, Original: original, Host: "fixture-host",
		User: "fixture-user", UID: 1000, GID: 1001, Paths: []string{"/a", "/b"}, Tags: []string{"t1", "t2"}, Program: "cairn fixture",
		Summary: &snapshot.Summary{BackupStart: fixtureTime, BackupEnd: fixtureTime.Add(time.Second), FilesNew: 1, FilesChanged: 2,
			FilesUnmodified: 3, DirsNew: 4, DirsChanged: 5, DirsUnmodified: 6, DataBlobs: 7, TreeBlobs: 8, DataAdded: 9,
			TotalFilesProcessed: 10, TotalBytesProcessed: 11, BytesRead: 12, ErrorCount: 13}}
}

var fixtureLock = LockInfo{Time: fixtureTime, Exclusive: true, Host: "fixture-host", User: "fixture-user", PID: 4321, UID: 1000, GID: 1001}

var (
	fixtureDrill = `{"source":"app","pass":true}`
	fixtureGate  = `{"source":"app","verdict":"go"}`
)

// writeFixture writes the fixture repository: config, a key, packs of both
// blob types, an index, a snapshot whose tree holds every node type, a
// lock, and a record of every kind.
func writeFixture(t *testing.T) {
	ctx := context.Background()
	if err := os.RemoveAll(fixtureDir); err != nil {
		t.Fatal(err)
	}
	be, _ := local.Open(fixtureDir)
	r, err := Init(ctx, be, fixturePassword, testOpts)
	must(t, err)
	for i := 0; i < 8; i++ {
		_, _, err := r.SaveBlob(ctx, blob.Type(i%2), fixtureBlob(i))
		must(t, err)
	}
	content := r.Key().ID(fixtureBlob(0))
	sub, _, err := r.SaveBlob(ctx, blob.Tree, (&snapshot.Tree{}).Encode())
	must(t, err)
	tree := &snapshot.Tree{Nodes: fixtureNodes(content, sub)}
	root, _, err := r.SaveBlob(ctx, blob.Tree, tree.Encode())
	must(t, err)
	must(t, r.Flush(ctx))
	must(t, r.SaveSnapshot(ctx, fixtureSnapshot(root)))
	_, err = r.SaveFile(ctx, backend.Lock, crypto.KindLock, fixtureLock.encode())
	must(t, err)
	must(t, r.SaveVerifyState(ctx, VerifyState{content: fixtureTime}, nil))
	_, err = r.SaveJSONRecord(ctx, KindDrill, json.RawMessage(fixtureDrill))
	must(t, err)
	_, err = r.SaveJSONRecord(ctx, KindGate, json.RawMessage(fixtureGate))
	must(t, err)
}

// TestFixture opens a repository checked in under testdata and reads every
// kind of stored object back: each decodes to the values written, and
// encodes again to exactly the stored bytes, so that a renumbered field,
// a changed constant or any unintended change to a stored format breaks
// it. Run with -update only when the format version changes on purpose.
func TestFixture(t *testing.T) {
	ctx := context.Background()
	if *update {
		writeFixture(t)
	}
	be, err := local.Open(fixtureDir)
	must(t, err)
	r, err := Open(ctx, be, fixturePassword, testOpts)
	if err != nil {
		t.Fatalf("open fixture: %v", err)
	}
	c := r.Config()
	if c.PackSize != MinPackSize || c.Chunker.Min != 512<<10 || c.Chunker.Max != 8<<20 || c.Chunker.AvgBits != 20 {
		t.Errorf("fixture config = %+v", c)
	}
	for i := 0; i < 8; i++ {
		h := blob.Handle{Type: blob.Type(i % 2), ID: r.Key().ID(fixtureBlob(i))}
		got, err := r.LoadBlob(ctx, h)
		if err != nil {
			t.Fatalf("fixture blob %d: %v", i, err)
		}
		if !bytes.Equal(got, fixtureBlob(i)) {
			t.Errorf("fixture blob %d differs", i)
		}
	}
	for _, ft := range backend.FileTypes {
		if ft == backend.Config {
			continue
		}
		names := mustNames(t, be, ft)
		if len(names) == 0 {
			t.Errorf("the fixture has no %v file", ft)
		}
		for _, name := range names {
			if _, err := loadVerified(ctx, be, backend.Handle{Type: ft, Name: name}); err != nil {
				t.Error(err)
			}
		}
	}
	keys, err := r.Keys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Params != (crypto.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}) {
		t.Errorf("fixture keys = %+v, %v", keys, err)
	}

	// The snapshot, byte for byte.
	snaps := mustNames(t, be, backend.Snapshot)
	if len(snaps) != 1 {
		t.Fatalf("%d snapshots in the fixture", len(snaps))
	}
	payload, err := r.LoadFile(ctx, backend.Handle{Type: backend.Snapshot, Name: snaps[0]}, crypto.KindSnapshot)
	must(t, err)
	s, err := snapshot.DecodeSnapshot(payload)
	must(t, err)
	want := fixtureSnapshot(s.Tree)
	if !reflect.DeepEqual(s, want) {
		t.Errorf("snapshot decodes to\n%+v\nwant\n%+v", s, want)
	}
	if !bytes.Equal(want.Encode(), payload) {
		t.Error("the snapshot no longer encodes to its stored bytes")
	}

	// Its tree, with every node type.
	treeData, err := r.LoadBlob(ctx, blob.Handle{Type: blob.Tree, ID: s.Tree})
	must(t, err)
	tree, err := snapshot.DecodeTree(treeData)
	must(t, err)
	wantNodes := fixtureNodes(r.Key().ID(fixtureBlob(0)), tree.Find("dir").Subtree)
	if !reflect.DeepEqual(tree.Nodes, wantNodes) {
		t.Errorf("tree decodes to\n%+v\nwant\n%+v", tree.Nodes, wantNodes)
	}
	if !bytes.Equal((&snapshot.Tree{Nodes: wantNodes}).Encode(), treeData) {
		t.Error("the tree no longer encodes to its stored bytes")
	}

	// The lock.
	locks := mustNames(t, be, backend.Lock)
	payload, err = r.LoadFile(ctx, backend.Handle{Type: backend.Lock, Name: locks[0]}, crypto.KindLock)
	must(t, err)
	l, err := DecodeLock(payload)
	must(t, err)
	if l != fixtureLock || !bytes.Equal(fixtureLock.encode(), payload) {
		t.Errorf("lock decodes to %+v, want %+v (or encodes differently)", l, fixtureLock)
	}

	// Every record kind.
	state, _, err := r.LoadVerifyState(ctx)
	must(t, err)
	if len(state) != 1 || !state[r.Key().ID(fixtureBlob(0))].Equal(fixtureTime) {
		t.Errorf("verification state %v", state)
	}
	for kind, want := range map[byte]string{KindDrill: fixtureDrill, KindGate: fixtureGate} {
		recs, err := r.LoadJSONRecords(ctx, kind)
		must(t, err)
		if len(recs) != 1 || string(recs[0].Data) != want {
			t.Errorf("records of kind %d: %v", kind, recs)
		}
	}
	if KindVerifyState != 16 || KindDrill != 17 || KindGate != 18 || crypto.KindLock != 4 || crypto.KindSnapshot != 3 {
		t.Error("a record or envelope kind was renumbered")
	}

	// And the whole repository checks clean.
	rep, err := r.Check(ctx, CheckOptions{ReadData: true})
	must(t, err)
	if !rep.OK() {
		t.Errorf("fixture check: %+v", rep)
	}
}
