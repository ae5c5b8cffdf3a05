package repo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/backend"
	"github.com/cairn-backup/cairn/backend/local"
	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/crypto"
	"github.com/cairn-backup/cairn/snapshot"
)

// damageEnv is a repository on disk with one snapshot of 30 files of
// random data spread over many small packs.
type damageEnv struct {
	*backupEnv
	dir  string
	src  string
	snap *snapshot.Snapshot
}

func newDamageEnv(t *testing.T) *damageEnv {
	dir := t.TempDir()
	be, err := local.Open(dir)
	must(t, err)
	e := &damageEnv{backupEnv: &backupEnv{t: t, be: be, r: initRepo(t, be)}, dir: dir, src: t.TempDir()}
	for i := 0; i < 30; i++ {
		writeFile(t, filepath.Join(e.src, fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%02d", i)), randBytes(40<<10+i, uint64(i)), 0o644)
	}
	e.snap, _ = e.backup(e.src, nil)
	return e
}

func (e *damageEnv) check(opts CheckOptions) *CheckReport {
	e.t.Helper()
	return e.checkPw(opts, pw)
}

func (e *damageEnv) checkPw(opts CheckOptions, password []byte) *CheckReport {
	e.t.Helper()
	r, err := Open(context.Background(), e.be, password, testOpts)
	must(e.t, err)
	rep, err := r.Check(context.Background(), opts)
	must(e.t, err)
	return rep
}

// packFiles returns the paths of pack files holding blobs of type t.
func (e *damageEnv) packFiles(t blob.Type) []string {
	e.t.Helper()
	var out []string
	for _, name := range mustNames(e.t, e.be, backend.Pack) {
		loc := ""
		f, err := e.r.LoadIndexFile(context.Background(), mustNames(e.t, e.be, backend.Index)[0])
		must(e.t, err)
		for _, p := range f.Packs {
			if p.ID.String() == name && p.Blobs[0].Type == t {
				loc = filepath.Join(e.dir, "data", name[:2], name[2:4], name)
			}
		}
		if loc != "" {
			out = append(out, loc)
		}
	}
	return out
}

func mutate(t *testing.T, p string, fn func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(p)
	must(t, err)
	must(t, os.Chmod(p, 0o600))
	must(t, os.WriteFile(p, fn(data), 0o400))
}

func TestCheckClean(t *testing.T) {
	e := newDamageEnv(t)
	rep := e.check(CheckOptions{ReadData: true})
	if !rep.OK() || rep.PacksRead != rep.Packs || rep.Packs < 10 {
		t.Fatalf("clean repository: ok=%v problems %v damage %v, read %d of %d packs", rep.OK(), rep.Problems, rep.Damage, rep.PacksRead, rep.Packs)
	}
}

func TestCheckBitFlips(t *testing.T) {
	e := newDamageEnv(t)
	packs := e.packFiles(blob.Data)
	rng := rand.New(rand.NewPCG(1, 2))
	flipped := packs[:4]
	for _, p := range flipped {
		mutate(t, p, func(b []byte) []byte {
			// Flip a bit inside the blob area, away from header and trailer.
			i := rng.IntN(len(b) - 2000)
			b[i] ^= 1 << rng.IntN(8)
			return b
		})
	}
	// Structure alone does not read data: it passes.
	if rep := e.check(CheckOptions{}); !rep.OK() {
		t.Errorf("structure check found damage it cannot see: %+v", rep.Problems)
	}
	rep := e.check(CheckOptions{ReadData: true})
	if len(rep.Damage) != len(flipped) {
		t.Fatalf("%d damaged blobs reported, want %d: %+v", len(rep.Damage), len(flipped), rep.Damage)
	}
	for _, d := range rep.Damage {
		if len(d.Paths) != 1 || !strings.HasPrefix(d.Paths[0], e.src) || len(d.Snapshots) != 1 || d.Snapshots[0] != e.snap.ID {
			t.Errorf("damage not mapped to a file: %+v", d)
		}
	}
	if len(rep.Problems) != len(flipped) {
		t.Errorf("%d pack problems, want one per flipped pack: %v", len(rep.Problems), rep.Problems)
	}
}

func TestCheckTruncatedAndMissing(t *testing.T) {
	tests := []struct {
		name   string
		damage func(e *damageEnv)
		// wantDamage: at least this many damaged blobs; wantProblems likewise.
		wantDamage, wantProblems int
	}{
		{"truncate to 0", func(e *damageEnv) { mutate(e.t, e.packFiles(blob.Data)[0], func(b []byte) []byte { return nil }) }, 1, 1},
		{"truncate to half", func(e *damageEnv) {
			mutate(e.t, e.packFiles(blob.Data)[0], func(b []byte) []byte { return b[:len(b)/2] })
		}, 1, 1},
		{"truncate by one byte", func(e *damageEnv) {
			mutate(e.t, e.packFiles(blob.Data)[0], func(b []byte) []byte { return b[:len(b)-1] })
		}, 0, 1},
		{"delete a data pack", func(e *damageEnv) { must(e.t, os.Remove(e.packFiles(blob.Data)[0])) }, 1, 1},
		{"delete the tree pack", func(e *damageEnv) { must(e.t, os.Remove(e.packFiles(blob.Tree)[0])) }, 1, 1},
		{"delete the index", func(e *damageEnv) {
			must(e.t, os.Remove(filepath.Join(e.dir, "index", mustNames(e.t, e.be, backend.Index)[0])))
		}, 1, 0},
		{"garble a snapshot", func(e *damageEnv) {
			mutate(e.t, filepath.Join(e.dir, "snapshots", e.snap.ID.String()), func(b []byte) []byte { b[40] ^= 1; return b })
		}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDamageEnv(t)
			tt.damage(e)
			rep := e.check(CheckOptions{ReadData: true})
			if rep.OK() {
				t.Fatal("check passed a damaged repository")
			}
			if len(rep.Damage) < tt.wantDamage || len(rep.Problems) < tt.wantProblems {
				t.Errorf("damage %d (want ≥%d), problems %d (want ≥%d): %+v %+v", len(rep.Damage), tt.wantDamage,
					len(rep.Problems), tt.wantProblems, rep.Damage, rep.Problems)
			}
			// Every damaged data blob maps to a file; trees below a lost
			// tree are unreachable, but the lost root maps to "/".
			mapped := 0
			for _, d := range rep.Damage {
				if len(d.Paths) > 0 {
					mapped++
				} else if d.Blob.Type == blob.Data {
					t.Errorf("damaged %v not mapped to any path", d.Blob)
				}
			}
			if len(rep.Damage) > 0 && mapped == 0 {
				t.Errorf("no damage mapped to a path: %+v", rep.Damage)
			}
		})
	}
}

// TestCheckNamesStrayFileWhereItIs checks that a file in the data folder
// whose name is not a hash is reported at its full path, not by its base
// name alone, so that the user can find it.
func TestCheckNamesStrayFileWhereItIs(t *testing.T) {
	e := newDamageEnv(t)
	writeFile(t, filepath.Join(e.dir, "data", "ab", "cd", "stray.tmp"), []byte("left by a copy tool"), 0o644)
	rep := e.check(CheckOptions{})
	if rep.OK() || len(rep.Problems) != 1 || rep.Problems[0].File != "data/ab/cd/stray.tmp" {
		t.Fatalf("problems %+v, want one at data/ab/cd/stray.tmp", rep.Problems)
	}
}

func TestDamagedKeyAndConfig(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		fn   func(e *damageEnv)
		want error
	}{
		{"empty key", func(e *damageEnv) {
			mutate(e.t, filepath.Join(e.dir, "keys", mustNames(e.t, e.be, backend.Key)[0]), func([]byte) []byte { return nil })
		}, ErrWrongPassword},
		{"garbled key", func(e *damageEnv) {
			mutate(e.t, filepath.Join(e.dir, "keys", mustNames(e.t, e.be, backend.Key)[0]), func(b []byte) []byte { b[50] ^= 0xff; return b })
		}, ErrWrongPassword},
		{"empty config", func(e *damageEnv) {
			mutate(e.t, filepath.Join(e.dir, "config"), func([]byte) []byte { return nil })
		}, crypto.ErrCorrupt},
		{"garbled config", func(e *damageEnv) {
			mutate(e.t, filepath.Join(e.dir, "config"), func(b []byte) []byte { b[40] ^= 0xff; return b })
		}, crypto.ErrCorrupt},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newDamageEnv(t)
			tt.fn(e)
			_, err := Open(ctx, e.be, pw, testOpts)
			if !errors.Is(err, tt.want) {
				t.Errorf("Open: %v, want %v", err, tt.want)
			}
			var dk *DamagedKeysError
			if tt.want == ErrWrongPassword && !errors.As(err, &dk) {
				t.Errorf("Open does not say the key file is damaged: %v", err)
			}
		})
	}
}

func TestRollingCheck(t *testing.T) {
	e := newDamageEnv(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := testOpts
	opts.Now = func() time.Time { return now }
	seen := map[string]bool{}
	var rep *CheckReport
	for run := 1; run <= 4; run++ {
		now = now.Add(24 * time.Hour)
		r, err := Open(context.Background(), e.be, pw, opts)
		must(t, err)
		prog := &CheckProgress{}
		rep, err = r.Check(context.Background(), CheckOptions{Rolling: 25, Progress: prog})
		must(t, err)
		if !rep.OK() {
			t.Fatalf("run %d: %+v", run, rep)
		}
		if want := (rep.Packs + 3) / 4; rep.PacksRead != want {
			t.Errorf("run %d read %d packs, want %d", run, rep.PacksRead, want)
		}
		state, _, err := r.LoadVerifyState(context.Background())
		must(t, err)
		for id, at := range state {
			if at.Equal(now) {
				if seen[id.String()] {
					t.Errorf("run %d re-read pack %s before covering all", run, id.Short())
				}
				seen[id.String()] = true
			}
		}
		if run < 4 && rep.Rolling.NeverVerified == 0 {
			t.Errorf("run %d: every pack verified too early", run)
		}
	}
	if len(seen) != rep.Packs || rep.Rolling.Coverage != 1 || rep.Rolling.NeverVerified != 0 {
		t.Errorf("4 runs of 25%% covered %d of %d packs (coverage %v)", len(seen), rep.Packs, rep.Rolling.Coverage)
	}
	if want := now.Add(-3 * 24 * time.Hour); !rep.Rolling.Oldest.Equal(want) {
		t.Errorf("oldest verification %v, want %v", rep.Rolling.Oldest, want)
	}
	if n := len(mustNames(t, e.be, backend.Record)); n != 1 {
		t.Errorf("%d verification records kept, want 1", n)
	}
}

// Damage, then repair index --read-data, repair snapshots and a new backup:
// the repository checks clean and the new snapshot is whole.
func TestRepairAndHeal(t *testing.T) {
	ctx := context.Background()
	e := newDamageEnv(t)
	mutate(t, e.packFiles(blob.Data)[0], func(b []byte) []byte { b[100] ^= 1; return b })
	must(t, os.Remove(e.packFiles(blob.Data)[1]))

	// Restore around the damage: intact files are written, damaged ones are
	// absent and named.
	r, err := Open(ctx, e.be, pw, testOpts)
	must(t, err)
	e.r = r
	target := t.TempDir()
	var warned []string
	res := snapshot.NewRestorer(r, snapshot.RestoreOptions{OnWarning: func(p string, err error) { warned = append(warned, p) }})
	sum, err := res.Restore(ctx, e.node(e.snap, e.src), e.src, target)
	must(t, err)
	if len(sum.Failed) < 2 || sum.FilesRestored+uint64(len(sum.Failed)) != 30 {
		t.Fatalf("restore around damage: restored %d, failed %v", sum.FilesRestored, sum.Failed)
	}
	for _, p := range sum.Failed {
		rel := strings.TrimPrefix(p, e.src)
		if _, err := os.Stat(filepath.Join(target, rel)); err == nil {
			t.Errorf("damaged file %s was left in the target", rel)
		}
	}

	rep, err := r.RepairIndex(ctx, RepairIndexOptions{ReadData: true})
	must(t, err)
	if rep.BadBlobs != 1 || rep.SalvagedPacks != 1 || rep.Salvaged == 0 {
		t.Errorf("repair index: %+v; want 1 bad blob and its pack salvaged", rep)
	}
	var removed []string
	repaired, err := r.RepairSnapshots(ctx, []*snapshot.Snapshot{e.snap}, RepairSnapshotsOptions{Forget: true,
		OnRemoved: func(_ *snapshot.Snapshot, p, why string) { removed = append(removed, p) }})
	must(t, err)
	if len(repaired) != 1 || !repaired[0].HasTag("repaired") || len(removed) != len(sum.Failed) {
		t.Fatalf("repaired %d snapshots, removed %v (want the %d damaged files)", len(repaired), removed, len(sum.Failed))
	}
	if rep := e.check(CheckOptions{ReadData: true}); len(rep.Damage) != 0 {
		t.Errorf("damage after repair: %+v", rep.Damage)
	}
	// The damaged pack still holds a bad blob but no index names it; a new
	// backup re-uploads the lost data and the new snapshot is whole.
	e.r, err = Open(ctx, e.be, pw, testOpts)
	must(t, err)
	healed, sum2 := e.backup(e.src, repaired[0])
	if sum2.FilesChanged+sum2.FilesNew == 0 || sum2.DataBlobs == 0 {
		t.Errorf("backup after repair re-uploaded nothing: %+v", sum2)
	}
	if rep := e.check(CheckOptions{ReadData: true}); !rep.OK() {
		t.Errorf("repository not clean after repair and backup: %+v %+v", rep.Problems, rep.Damage)
	}
	target2 := t.TempDir()
	_, warnings := e.restore(healed, e.src, target2, snapshot.RestoreOptions{Verify: true})
	if len(warnings) != 0 {
		t.Errorf("healed snapshot restores with warnings: %v", warnings)
	}
}

// A backup after a pack vanished (no repair) notices and uploads the data
// again.
func TestBackupNoticesMissingPacks(t *testing.T) {
	ctx := context.Background()
	e := newDamageEnv(t)
	must(t, os.Remove(e.packFiles(blob.Data)[0]))
	r, err := Open(ctx, e.be, pw, testOpts)
	must(t, err)
	rec, err := r.ReconcilePacks(ctx)
	must(t, err)
	if len(rec.Missing) != 1 {
		t.Fatalf("ReconcilePacks found missing packs %v", rec.Missing)
	}
	e.r = r
	s, sum := e.backup(e.src, e.snap)
	if sum.DataBlobs == 0 {
		t.Error("lost data was not uploaded again")
	}
	if rep := e.check(CheckOptions{ReadData: true, Snapshots: []*snapshot.Snapshot{s}}); len(rep.Damage) != 0 {
		t.Errorf("new snapshot still damaged: %+v", rep.Damage)
	}
}

func FuzzDecodeVerifyState(f *testing.F) {
	f.Add(VerifyState{blob.ID{1}: time.Unix(5, 0)}.encode())
	f.Add([]byte{1, 255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeVerifyState(b)
		if err != nil {
			return
		}
		if _, err := DecodeVerifyState(v.encode()); err != nil {
			t.Errorf("re-encoded state fails: %v", err)
		}
	})
}

func TestParseSubset(t *testing.T) {
	for _, s := range []string{"1/3", "3/3", "10%", "100%", "5G", "100K"} {
		if _, err := ParseSubset(s); err != nil {
			t.Errorf("ParseSubset(%q): %v", s, err)
		}
	}
	for _, s := range []string{"0/3", "4/3", "0%", "101%", "x", "", "1/0"} {
		if _, err := ParseSubset(s); err == nil {
			t.Errorf("ParseSubset(%q) accepted", s)
		}
	}
	packs := make([]PackFile, 256)
	for i := range packs {
		packs[i] = PackFile{Name: fmt.Sprintf("%02x%062d", i, 0), Size: 10}
	}
	covered := map[string]int{}
	for n := 1; n <= 3; n++ {
		sel, _ := Subset{N: n, M: 3}.Select(packs)
		for _, p := range sel {
			covered[p.Name]++
		}
	}
	if len(covered) != 256 {
		t.Errorf("n/3 groups cover %d of 256 packs", len(covered))
	}
	for name, c := range covered {
		if c != 1 {
			t.Errorf("pack %s in %d groups", name[:2], c)
		}
	}
	if sel, _ := (Subset{Bytes: 95}).Select(packs); len(sel) != 10 {
		t.Errorf("95 bytes of 10-byte packs selected %d packs, want 10", len(sel))
	}
	if sel, _ := (Subset{Percent: 10}).Select(packs); len(sel) != 26 {
		t.Errorf("10%% of 256 packs selected %d, want 26", len(sel))
	}
}

// TestIndexFilesAreBounded checks that a backup writes index files of at
// most Options.IndexFileBlobs blobs each (a reader holds one at a time),
// that a repaired index is split the same way, and that the repository
// is whole after both.
func TestIndexFilesAreBounded(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	be, err := local.Open(dir)
	must(t, err)
	opts := testOpts
	opts.IndexFileBlobs = 40
	r, err := Init(ctx, be, pw, opts)
	must(t, err)
	src := t.TempDir()
	for i := 0; i < 300; i++ {
		writeFile(t, filepath.Join(src, fmt.Sprintf("d%d", i%7), fmt.Sprintf("f%03d", i)), randBytes(4000+i, uint64(i)), 0o644)
	}
	e := &backupEnv{t: t, be: be, r: r}
	e.backup(src, nil)
	sizes := func() (files, blobs int) {
		for _, name := range mustNames(t, be, backend.Index) {
			f, err := r.LoadIndexFile(ctx, name)
			must(t, err)
			n := 0
			for _, p := range f.Packs {
				n += len(p.Blobs)
			}
			if n > 40 && len(f.Packs) > 1 {
				t.Errorf("index file %s lists %d blobs in %d packs, more than 40", name[:8], n, len(f.Packs))
			}
			files, blobs = files+1, blobs+n
		}
		return files, blobs
	}
	files, blobs := sizes()
	if blobs < 307 || files < blobs/40 {
		t.Fatalf("%d index files for %d blobs (300 files and their trees)", files, blobs)
	}
	_, err = r.RepairIndex(ctx, RepairIndexOptions{})
	must(t, err)
	if files2, blobs2 := sizes(); blobs2 != blobs || files2 < blobs/40 {
		t.Errorf("after repair: %d index files for %d blobs, want %d blobs", files2, blobs2, blobs)
	}
	r2, err := Open(ctx, be, pw, opts)
	must(t, err)
	rep, err := r2.Check(ctx, CheckOptions{ReadData: true})
	must(t, err)
	if !rep.OK() {
		t.Fatalf("check after split index files: %+v %+v", rep.Problems, rep.Damage)
	}
}
