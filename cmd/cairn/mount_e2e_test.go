//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// mounted is a running cairn mount.
type mounted struct {
	*stalled
	dir string
}

// startMount runs cairn mount on a new folder and returns once the file
// system is mounted (the command says so), without sleeping.
func startMount(t *testing.T, env []string, args ...string) *mounted {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no /dev/fuse: %v", err)
		}
		t.Skipf("no FUSE on this machine (/dev/fuse: %v)", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(cairnBin, append(append([]string{"mount", "--refresh", "0"}, args...), dir)...)
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	s := &stalled{cmd: cmd, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	cmd.Stdout = s.stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = syscall.Unmount(dir, syscall.MNT_DETACH)
	})
	rd := bufio.NewReader(pipe)
	for {
		line, err := rd.ReadString('\n')
		s.stderr.WriteString(line)
		if strings.Contains(line, "mounted at "+dir) {
			break
		}
		if err != nil {
			_ = cmd.Wait()
			t.Fatalf("cairn mount ended before mounting:\n%s", s.stderr)
		}
	}
	s.copied = make(chan struct{})
	go func() {
		defer close(s.copied)
		_, _ = io.Copy(s.stderr, rd)
	}()
	return &mounted{stalled: s, dir: dir}
}

func isMountpoint(t *testing.T, dir string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte(" "+dir+" "))
}

// TestMount: the mounted snapshot is the backed-up tree (content, modes,
// owners, times, symlinks, hard link counts, xattrs); random ranges of a
// large file read right; a snapshot taken while mounted appears; SIGTERM
// unmounts with exit 130 and leaves no lock.
func TestMount(t *testing.T) {
	env := repoEnv(t)
	repoDir := strings.TrimPrefix(env[1], "CAIRN_REPOSITORY=")
	src := t.TempDir()
	writeTree(t, src, 30, 20<<10, 5)
	big := make([]byte, 24<<20)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range big {
		big[i] = byte(rng.Uint32() >> (i % 7))
	}
	put(t, filepath.Join(src, "big.bin"), string(big))
	put(t, filepath.Join(src, "notes.txt"), "read me\n")
	if err := os.Symlink("notes.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(src, "notes.txt"), filepath.Join(src, "hard")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(filepath.Join(src, "notes.txt"), "user.origin", []byte("cairn test"), 0); err != nil {
		t.Fatalf("setxattr: %v", err)
	}
	if err := os.Chmod(filepath.Join(src, "d1"), 0o750); err != nil {
		t.Fatal(err)
	}
	mustRun(t, env, "backup", "--tag", "first", src)

	m := startMount(t, env)
	if locks := strings.TrimSpace(mustRun(t, env, "list", "locks")); locks == "" {
		t.Error("the mount holds no lock")
	}
	for _, p := range []string{"snapshots/latest", "tags/first/latest", "hosts"} {
		if _, err := os.Stat(filepath.Join(m.dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	ids, err := os.ReadDir(filepath.Join(m.dir, "ids"))
	if err != nil || len(ids) != 1 || len(ids[0].Name()) != 8 {
		t.Fatalf("ids/: %v %v", ids, err)
	}
	got := filepath.Join(m.dir, "snapshots", "latest", src)
	sameTrees(t, src, got)
	if x := make([]byte, 64); true {
		n, err := unix.Getxattr(filepath.Join(got, "notes.txt"), "user.origin", x)
		if err != nil || string(x[:n]) != "cairn test" {
			t.Errorf("xattr through the mount: %q %v", x[:max(n, 0)], err)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(got, "hard"), &st); err != nil || st.Nlink != 2 {
		t.Errorf("hard link count %d, %v; want 2", st.Nlink, err)
	}
	f, err := os.Open(filepath.Join(got, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		off := rng.Int64N(int64(len(big)))
		n := 1 + rng.IntN(300<<10)
		buf := make([]byte, n)
		k, err := f.ReadAt(buf, off)
		if err != nil && err != io.EOF {
			t.Fatalf("read %d at %d: %v", n, off, err)
		}
		if want := big[off:min(off+int64(n), int64(len(big)))]; !bytes.Equal(buf[:k], want) {
			t.Fatalf("read %d at %d: wrong bytes", n, off)
		}
	}
	f.Close()
	if err := os.WriteFile(filepath.Join(got, "notes.txt"), []byte("x"), 0o644); err == nil {
		t.Error("a write into the mount succeeded")
	}

	// A new snapshot shows without remounting.
	put(t, filepath.Join(src, "new.txt"), "after the mount")
	mustRun(t, env, "backup", "--tag", "second", src)
	snaps, err := os.ReadDir(filepath.Join(m.dir, "snapshots"))
	if err != nil || len(snaps) != 3 {
		t.Fatalf("snapshots/ after a new backup: %v %v", snaps, err)
	}
	if b, err := os.ReadFile(filepath.Join(m.dir, "tags", "second", "latest", src, "new.txt")); err != nil || string(b) != "after the mount" {
		t.Errorf("new snapshot's file: %q %v", b, err)
	}

	if code := m.stop(t, syscall.SIGTERM); code != 130 {
		t.Errorf("mount stopped by SIGTERM: exit %d, want 130\n%s", code, m.stderr)
	}
	if isMountpoint(t, m.dir) {
		t.Error("still mounted after SIGTERM")
	}
	noLocks(t, repoDir)
}

// TestMountDamageAndHostileNames: damaged data is an I/O error on that
// file alone, named on stderr; names a restore would refuse never show;
// without FUSE the command says so and exits 1.
func TestMountDamageAndHostileNames(t *testing.T) {
	env, repoDir, src := smallPackRepo(t, 4)
	hostileSnapshot(t, env, repoDir)
	m := startMount(t, env)
	entries, err := os.ReadDir(filepath.Join(m.dir, "hosts", "evil", "latest", "h"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if err != nil || strings.Join(names, " ") != "good sub" {
		t.Errorf("hostile snapshot shows %q (%v), want only the safe names", names, err)
	}
	// Damage every data pack: reading a file fails, listing still works.
	damagePacks(t, repoDir)
	dir := filepath.Join(m.dir, "snapshots")
	snaps, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(dir, snaps[0].Name(), src)
	files, err := filepath.Glob(filepath.Join(first, "d*", "f*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("files of the first snapshot: %v %v", files, err)
	}
	_, err = os.ReadFile(files[0])
	if !errorsIsEIO(err) {
		t.Errorf("reading a damaged file: %v, want an I/O error", err)
	}
	if _, err := os.Stat(files[len(files)-1]); err != nil {
		t.Errorf("stat beside a damaged file: %v", err)
	}
	if code := m.stop(t, syscall.SIGINT); code != 130 {
		t.Errorf("exit %d, want 130", code)
	}
	rel := strings.TrimPrefix(files[0], first)
	if !strings.Contains(m.stderr.String(), rel+": could not read") || !strings.Contains(m.stderr.String(), `"../x"`) {
		t.Errorf("stderr does not name the damaged file %s and the unsafe names:\n%s", rel, m.stderr)
	}
	noLocks(t, repoDir)

	r := cairn(t, append(env, "CAIRN_TEST_FUSE_DEVICE=/nonexistent/fuse"), "mount", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "FUSE is not available on this machine") {
		t.Errorf("mount without FUSE: exit %d\n%s", r.code, r.stderr)
	}
}

func errorsIsEIO(err error) bool { return errors.Is(err, syscall.EIO) }

// A prune that finishes while a snapshot is mounted moves the blobs of the
// snapshots it keeps into new packs and removes the old ones (here the
// mount holds no lock, as beside a lock-free prune). Files of the kept
// snapshot still read right, without remounting: with --refresh 0 the
// next look reloads the index because the index files changed (the
// snapshot names did not: the forget came before the last look), and with
// --refresh 1h a read that finds its pack gone reloads the index and
// reads again, instead of an I/O error.
func TestMountFollowsPrune(t *testing.T) {
	for _, refresh := range []string{"0", "1h"} {
		t.Run("refresh-"+refresh, func(t *testing.T) {
			env := repoEnv(t)
			src := t.TempDir()
			put(t, filepath.Join(src, "keep.txt"), "keep me\n")
			secret := make([]byte, 300<<10)
			rng := rand.New(rand.NewPCG(3, 4))
			for i := range secret {
				secret[i] = byte(rng.Uint32())
			}
			put(t, filepath.Join(src, "secret.bin"), string(secret))
			mustRun(t, env, "backup", src)
			if err := os.Remove(filepath.Join(src, "secret.bin")); err != nil {
				t.Fatal(err)
			}
			mustRun(t, env, "backup", src)
			ids := snapshotIDs(t, env)
			m := startMount(t, env, "--no-lock", "--refresh", refresh)
			mustRun(t, env, "forget", ids[0])
			if _, err := os.ReadDir(filepath.Join(m.dir, "ids")); err != nil {
				t.Fatal(err)
			}
			out := mustRun(t, env, "prune", "--max-unused", "0", "--json")
			if sum := lastJSON(t, out); sum["packs_repacked"] == 0.0 {
				t.Fatalf("the prune repacked nothing, so the test tests nothing:\n%s", out)
			}
			b, err := os.ReadFile(filepath.Join(m.dir, "ids", ids[1][:8], src, "keep.txt"))
			if err != nil || string(b) != "keep me\n" {
				t.Errorf("a file of the kept snapshot after the prune: %q %v\n%s", b, err, m.stderr)
			}
		})
	}
}
