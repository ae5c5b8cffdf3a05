package engine

import (
	"archive/tar"
	"archive/zip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/cairn-backup/cairn/blob"
	"github.com/cairn-backup/cairn/repo"
	"github.com/cairn-backup/cairn/snapshot"
)

// WriteFile writes a file's content to w, blob by blob.
func WriteFile(ctx context.Context, r *repo.Repository, w io.Writer, n *snapshot.Node) error {
	for _, id := range n.Content {
		data, err := r.LoadBlob(ctx, blob.Handle{Type: blob.Data, ID: id})
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	return nil
}

// WriteTar writes the tree below dir, found at path p in the snapshot, as
// a tar stream with paths relative to p's parent. Entries whose names
// could escape the extraction directory are left out, as restore refuses
// them, and a directory that cannot be read is left out; both are
// reported to onErr. A file whose data turns out damaged after its header
// was written is completed with zeros, so the rest of the stream stays
// readable, and is reported to onErr too; a file whose blobs are missing
// from the index is left out.
func WriteTar(ctx context.Context, r *repo.Repository, w io.Writer, dir *snapshot.Node, p string, onErr snapshot.OnWalkError) error {
	tw := tar.NewWriter(w)
	err := archive(ctx, r, dir, p, onErr, "tar", func(name string, n *snapshot.Node) (io.Writer, error) {
		h := &tar.Header{Name: name, Mode: int64(n.Mode), Uid: int(n.UID), Gid: int(n.GID), Uname: n.User,
			Gname: n.Group, ModTime: n.ModTime, Format: tar.FormatPAX}
		switch n.Type {
		case snapshot.TypeFile:
			h.Typeflag, h.Size = tar.TypeReg, int64(n.Size)
		case snapshot.TypeDir:
			h.Typeflag, h.Name = tar.TypeDir, name+"/"
		case snapshot.TypeSymlink:
			h.Typeflag, h.Linkname = tar.TypeSymlink, n.LinkTarget
		case snapshot.TypeFIFO:
			h.Typeflag = tar.TypeFifo
		case snapshot.TypeCharDev, snapshot.TypeBlockDev:
			h.Typeflag = tar.TypeChar
			if n.Type == snapshot.TypeBlockDev {
				h.Typeflag = tar.TypeBlock
			}
			h.Devmajor, h.Devminor = int64((n.Rdev>>8)&0xfff), int64((n.Rdev&0xff)|((n.Rdev>>12)&0xfff00))
		default:
			return nil, nil
		}
		if len(n.Xattrs) > 0 {
			h.PAXRecords = map[string]string{}
			for _, x := range n.Xattrs {
				h.PAXRecords["SCHILY.xattr."+x.Name] = string(x.Value)
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar %s: %w", name, err)
		}
		return tw, nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// WriteZip is WriteTar writing a zip archive: directories, files and
// symlinks (as zip stores them, with their modes and times); FIFOs and
// devices, which zip cannot hold, are left out. Names are checked as
// WriteTar checks them, and damage is handled the same way.
func WriteZip(ctx context.Context, r *repo.Repository, w io.Writer, dir *snapshot.Node, p string, onErr snapshot.OnWalkError) error {
	zw := zip.NewWriter(w)
	err := archive(ctx, r, dir, p, onErr, "zip", func(name string, n *snapshot.Node) (io.Writer, error) {
		h := &zip.FileHeader{Name: name, Modified: n.ModTime, Method: zip.Deflate}
		mode := fs.FileMode(n.Mode & 0o777)
		switch n.Type {
		case snapshot.TypeFile:
			h.UncompressedSize64 = n.Size
		case snapshot.TypeDir:
			h.Name, h.Method, mode = name+"/", zip.Store, mode|fs.ModeDir
		case snapshot.TypeSymlink:
			h.Method, mode = zip.Store, mode|fs.ModeSymlink
		default:
			return nil, nil
		}
		h.SetMode(mode)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return nil, fmt.Errorf("zip %s: %w", name, err)
		}
		if n.Type == snapshot.TypeSymlink {
			_, err = io.WriteString(fw, n.LinkTarget)
		}
		return fw, err
	})
	if err != nil {
		return err
	}
	return zw.Close()
}

// archive walks the tree below dir (found at p) for WriteTar and
// WriteZip: it checks names (through snapshot.Walk) and file contents,
// hands each entry to add, which writes its header and returns where a
// file's content goes (nil to leave the entry out), and writes the
// content, completing a file that turns out damaged with zeros.
func archive(ctx context.Context, r *repo.Repository, dir *snapshot.Node, p string, onErr snapshot.OnWalkError,
	format string, add func(name string, n *snapshot.Node) (io.Writer, error)) error {
	base := path.Dir(p)
	write := func(np string, n *snapshot.Node) error {
		name := strings.TrimPrefix(strings.TrimPrefix(np, base), "/")
		if name == "" {
			return nil
		}
		if n.Type == snapshot.TypeFile {
			if err := contentSize(r, n); err != nil {
				onErr(np, err)
				return nil
			}
		}
		w, err := add(name, n)
		if err != nil || w == nil || n.Type != snapshot.TypeFile {
			return err
		}
		cw := &countingWriter{w: w}
		if err := WriteFile(ctx, r, cw, n); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if cw.failed {
				return err // the output itself failed
			}
			onErr(np, fmt.Errorf("damaged; its content in the %s is zero-filled from byte %d: %w", format, cw.n, err))
			return zeroFill(w, int64(n.Size)-cw.n)
		}
		return nil
	}
	if err := write(p, dir); err != nil {
		return err
	}
	return snapshot.Walk(ctx, r, dir.Subtree, p, onErr, write)
}

// contentSize checks that a file's blobs are indexed and add up to the
// size its node records, so that a tar header never promises other bytes
// than follow it.
func contentSize(r *repo.Repository, n *snapshot.Node) error {
	var total uint64
	for _, id := range n.Content {
		size, ok := r.BlobSize(blob.Handle{Type: blob.Data, ID: id})
		if !ok {
			return fmt.Errorf("damaged: blob %v is not in the index", id.Short())
		}
		total += uint64(size)
	}
	if total != n.Size {
		return fmt.Errorf("damaged: its content is %d bytes, the snapshot records %d", total, n.Size)
	}
	return nil
}

// countingWriter counts the bytes written through it and whether the
// underlying writer failed (as opposed to the data's source).
type countingWriter struct {
	w      io.Writer
	n      int64
	failed bool
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	if err != nil {
		c.failed = true
	}
	return n, err
}

// zeroFill writes n zero bytes.
func zeroFill(w io.Writer, n int64) error {
	if n <= 0 {
		return nil
	}
	_, err := io.CopyN(w, zeroReader{}, n)
	return err
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}
