package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/internal/store"
)

// nameKey is the case-folded form of a username that uniqueness and
// look-ups use.
func nameKey(name string) string { return strings.ToLower(name) }

// ms truncates t to the millisecond, the precision the store keeps.
func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

// CreateUser registers a user; ErrConflict when the name is taken
// regardless of case.
func (s *Store) CreateUser(ctx context.Context, name, passwordHash string, now time.Time) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO users (name_key, name, password_hash, created) VALUES ($1, $2, $3, $4)`,
		nameKey(name), name, passwordHash, ms(now))
	return wrap(ctx, err)
}

// User finds a user by name regardless of case; ErrNotFound if none.
func (s *Store) User(ctx context.Context, name string) (store.User, error) {
	var u store.User
	err := s.pool.QueryRow(ctx,
		`SELECT name, password_hash, created FROM users WHERE name_key = $1`, nameKey(name)).
		Scan(&u.Name, &u.PasswordHash, &u.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, wrap(ctx, err)
	}
	u.Created = u.Created.UTC()
	return u, nil
}

// CreateSession stores a session under id for username.
func (s *Store) CreateSession(ctx context.Context, id, username string, now time.Time) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO sessions (id, username, created, last_used) VALUES ($1, $2, $3, $3)`,
		id, username, ms(now))
	return wrap(ctx, err)
}

// TouchSession returns the session's username and records now as its last
// use; a session idle for longer than maxIdle is deleted and reported as
// ErrNotFound. The row is locked for the check and the update.
func (s *Store) TouchSession(ctx context.Context, id string, now time.Time, maxIdle time.Duration) (string, error) {
	now = ms(now)
	var user string
	// Most touches find the session recently used: a read, no write.
	var seen time.Time
	err := s.pool.QueryRow(ctx, `SELECT username, last_used FROM sessions WHERE id = $1`, id).Scan(&user, &seen)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", wrap(ctx, err)
	}
	if age := now.Sub(seen); age >= 0 && age < store.TouchResolution {
		return user, nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var last time.Time
		err := tx.QueryRow(ctx, `SELECT username, last_used FROM sessions WHERE id = $1 FOR UPDATE`, id).Scan(&user, &last)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if now.Sub(last).Milliseconds() > maxIdle.Milliseconds() {
			_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
			if err != nil {
				return err
			}
			user = ""
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE sessions SET last_used = GREATEST(last_used, $2) WHERE id = $1`, id, now)
		return err
	})
	if err != nil {
		return "", wrap(ctx, err)
	}
	if user == "" {
		return "", store.ErrNotFound
	}
	return user, nil
}

// DeleteSession removes a session; a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	return wrap(ctx, err)
}
