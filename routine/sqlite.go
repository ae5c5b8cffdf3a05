package routine

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"

	// The pure-Go SQLite driver, registered as "sqlite".
	_ "modernc.org/sqlite"
)

// SQLiteCopy writes a consistent copy of the SQLite database src to dst
// while other connections keep writing to src: VACUUM INTO reads inside
// one transaction, so the copy is the database as of one instant. It then
// runs PRAGMA integrity_check on the copy and fails unless it says ok.
func SQLiteCopy(ctx context.Context, src, dst string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("sqlite source: %w", err)
	}
	db, err := sql.Open("sqlite", sqliteDSN(src, true))
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return SQLiteIntegrity(ctx, dst)
}

// SQLiteIntegrity runs PRAGMA integrity_check on a database file.
func SQLiteIntegrity(ctx context.Context, file string) error {
	db, err := sql.Open("sqlite", sqliteDSN(file, true))
	if err != nil {
		return fmt.Errorf("open %s: %w", file, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check of %s: %w", file, err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("integrity check of %s: %w", file, err)
		}
		msgs = append(msgs, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check of %s: %w", file, err)
	}
	if len(msgs) != 1 || msgs[0] != "ok" {
		return fmt.Errorf("integrity check of the copy of the database failed: %s", strings.Join(msgs, "; "))
	}
	return nil
}

func sqliteDSN(file string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(30000)")
	if readOnly {
		q.Set("mode", "ro")
	}
	return "file:" + (&url.URL{Path: file}).EscapedPath() + "?" + q.Encode()
}
