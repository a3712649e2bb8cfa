// Package postgres is Parley's PostgreSQL store, for clusters of nodes that
// share one database. It passes the same conformance suite as the embedded
// SQLite store.
//
// Message ids come from one identity sequence. So that ids increase within
// a room in commit order even with many nodes writing, SaveMessages first
// locks the row of each room it writes to (table rooms), in name order so
// that two batches never deadlock, and only then draws ids: a batch that
// commits later in a room necessarily drew its ids later.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-chat/parley/internal/store"
)

// Store is a store.Store on a PostgreSQL database. It is safe for
// concurrent use, also by several processes on the same database.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// string), checks that it answers and brings its schema up to date. An
// unreachable database gives an error wrapping store.ErrUnavailable.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: bad database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, wrap(ctx, err))
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", wrap(ctx, err))
	}
	return &Store{pool: pool}, nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return wrap(ctx, s.pool.Ping(ctx))
}

// Close closes every connection of the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// errInvalid reports a row the schema refuses (a CHECK or NOT NULL
// constraint): a bug in the caller, not an outage.
var errInvalid = errors.New("postgres: invalid data")

// wrap classifies a database error: the context's own error when ctx is
// done, ErrConflict for a uniqueness violation, errInvalid for other
// integrity violations, the server's error as is for other SQL errors (a
// bug), and ErrUnavailable for everything that means the database cannot
// be reached or is not accepting work (connection failures, a closed pool,
// server shutting down, too many connections).
func wrap(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("postgres: %w", ctx.Err())
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case pg.Code == "23505": // unique_violation
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		case pg.Code[:2] == "23": // other integrity violations
			return fmt.Errorf("%w: %v", errInvalid, err)
		case pg.Code[:2] == "08", // connection exception
			pg.Code[:2] == "53", // insufficient resources
			pg.Code[:2] == "57", // operator intervention (shutdown)
			pg.Code == "40001",  // serialization failure
			pg.Code == "40P01":  // deadlock detected
			return fmt.Errorf("%w: postgres: %v", store.ErrUnavailable, err)
		}
		return fmt.Errorf("postgres: %w", err)
	}
	return fmt.Errorf("%w: postgres: %v", store.ErrUnavailable, err)
}
