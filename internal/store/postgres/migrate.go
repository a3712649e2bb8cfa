package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationLock is the pg_advisory_lock key that serialises migrations
// between nodes starting at the same time ("parley" in ASCII).
const migrationLock int64 = 0x7061726c6579

// migrations are the schema changes, in order: migrations[i] brings the
// database to version i+1. Append only; never edit one that has shipped.
var migrations = []string{
	// 1: users, sessions, rooms (one row per room: the lock that orders
	// its ids), messages.
	`
CREATE TABLE users (
	name_key      text PRIMARY KEY,         -- lower-cased name: uniqueness regardless of case
	name          text NOT NULL,            -- as registered
	password_hash text NOT NULL,
	created       timestamptz NOT NULL
);
CREATE TABLE sessions (
	id        text PRIMARY KEY,             -- a hash of the cookie value
	username  text NOT NULL,
	created   timestamptz NOT NULL,
	last_used timestamptz NOT NULL
);
CREATE TABLE rooms (
	name    text PRIMARY KEY,
	last_id bigint NOT NULL DEFAULT 0
);
CREATE TABLE messages (
	id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	room   text NOT NULL CHECK (room <> ''),
	sender text NOT NULL CHECK (sender <> ''),
	body   text NOT NULL,
	sent   timestamptz NOT NULL
);
CREATE INDEX messages_room_id ON messages (room, id);
CREATE INDEX messages_sent ON messages (sent);
`,
}

// migrate applies the migrations the database has not seen yet. It holds a
// session-level advisory lock meanwhile, so that nodes starting together
// on an empty database take turns: the first applies, the others find the
// work done. Each migration runs in its own transaction with its
// schema_migrations row.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return err
	}
	defer func() {
		// Unlock even if ctx is done; a lost connection drops the lock anyway.
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return err
	}
	for i, ddl := range migrations {
		version := i + 1
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, version).Scan(&done); err != nil {
				return err
			}
			if done {
				return nil
			}
			if _, err := tx.Exec(ctx, ddl); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %d: %w", version, err)
		}
	}
	var newest int
	if err := conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
		return err
	}
	if newest > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this program knows (%d)", newest, len(migrations))
	}
	return nil
}
