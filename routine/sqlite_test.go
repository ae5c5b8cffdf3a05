package routine

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func makeDB(t *testing.T, file string, rows int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX tv ON t(v)"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < rows; i++ {
		if _, err := db.Exec("INSERT INTO t (v) VALUES (?)", strings.Repeat("x", i%300)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSQLiteCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "app.db")
	makeDB(t, src, 2000)
	dst := filepath.Join(dir, "copy.db")
	if err := SQLiteCopy(context.Background(), src, dst); err != nil {
		t.Fatal(err)
	}
	db, _ := sql.Open("sqlite", "file:"+dst)
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != 2000 {
		t.Errorf("copy holds %d rows (%v), want 2000", n, err)
	}
}

func TestSQLiteCopyRefusesDamage(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "app.db")
	makeDB(t, src, 2000)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	// Garble pages in the middle of the file, past the header.
	for i := len(data) / 3; i < len(data)/3+4096; i++ {
		data[i] ^= 0x5a
	}
	os.WriteFile(src, data, 0o600)
	err = SQLiteCopy(context.Background(), src, filepath.Join(dir, "copy.db"))
	if err == nil {
		t.Fatal("a damaged database was copied without complaint")
	}
	if err := SQLiteCopy(context.Background(), filepath.Join(dir, "missing.db"), filepath.Join(dir, "c2.db")); err == nil {
		t.Error("a missing database was copied")
	}
}
