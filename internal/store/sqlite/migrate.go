package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations are the schema changes, in order: migrations[i] brings the
// database to version i+1. Append only; never edit one that has shipped.
var migrations = []string{
	// 1: users, sessions, messages.
	`
CREATE TABLE users (
	name_key      TEXT PRIMARY KEY,          -- lower-cased name: uniqueness regardless of case
	name          TEXT NOT NULL,             -- as registered
	password_hash TEXT NOT NULL,
	created_ms    INTEGER NOT NULL           -- Unix milliseconds, UTC
);
CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,           -- a hash of the cookie value
	username     TEXT NOT NULL,
	created_ms   INTEGER NOT NULL,
	last_used_ms INTEGER NOT NULL
);
CREATE TABLE messages (
	id      INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: never reused
	room    TEXT NOT NULL CHECK (room <> ''),
	sender  TEXT NOT NULL CHECK (sender <> ''),
	body    TEXT NOT NULL,
	sent_ms INTEGER NOT NULL
);
CREATE INDEX messages_room_id ON messages (room, id);
CREATE INDEX messages_sent ON messages (sent_ms);
`,
}

// migrate applies the migrations the database has not seen yet, each in its
// own transaction together with its schema_migrations row, so a crash leaves
// the schema at a whole version. Running it again is a no-op.
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_ms INTEGER NOT NULL
	)`); err != nil {
		return err
	}
	for i, ddl := range migrations {
		if err := apply(ctx, db, i+1, ddl); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	var newest int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
		return err
	}
	if newest > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this program knows (%d)", newest, len(migrations))
	}
	return nil
}

// apply runs one migration unless it is already recorded.
func apply(ctx context.Context, db *sql.DB, version int, ddl string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, ddl); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)`,
		version, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}
