package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/store"
)

// nameKey is the case-folded form of a username that uniqueness and
// look-ups use.
func nameKey(name string) string { return strings.ToLower(name) }

// ms converts t to Unix milliseconds (finer parts are dropped).
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS converts Unix milliseconds to a UTC time.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// CreateUser registers a user; ErrConflict when the name is taken
// regardless of case.
func (s *Store) CreateUser(ctx context.Context, name, passwordHash string, now time.Time) error {
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO users (name_key, name, password_hash, created_ms) VALUES (?, ?, ?, ?)`,
		nameKey(name), name, passwordHash, ms(now))
	return s.durable(ctx, err)
}

// User finds a user by name regardless of case; ErrNotFound if none.
func (s *Store) User(ctx context.Context, name string) (store.User, error) {
	var u store.User
	var created int64
	err := s.r.QueryRowContext(ctx,
		`SELECT name, password_hash, created_ms FROM users WHERE name_key = ?`, nameKey(name)).
		Scan(&u.Name, &u.PasswordHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, store.ErrNotFound
	}
	if err != nil {
		return store.User{}, wrap(ctx, err)
	}
	u.Created = fromMS(created)
	return u, nil
}

// CreateSession stores a session under id for username.
func (s *Store) CreateSession(ctx context.Context, id, username string, now time.Time) error {
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO sessions (id, username, created_ms, last_used_ms) VALUES (?, ?, ?, ?)`,
		id, username, ms(now), ms(now))
	return s.durable(ctx, err)
}

// TouchSession returns the session's username and records now as its last
// use; a session idle for longer than maxIdle is deleted and reported as
// ErrNotFound. Check and update happen in one write transaction.
func (s *Store) TouchSession(ctx context.Context, id string, now time.Time, maxIdle time.Duration) (string, error) {
	nowMS := ms(now)
	user, ok, epoch := s.sessions.lookup(id, nowMS)
	if ok {
		return user, nil
	}
	// Most other touches find the session recently used: a read, no write.
	var last int64
	err := s.r.QueryRowContext(ctx, `SELECT username, last_used_ms FROM sessions WHERE id = ?`, id).Scan(&user, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", wrap(ctx, err)
	}
	if age := nowMS - last; age >= 0 && age < store.TouchResolution.Milliseconds() {
		s.sessions.remember(id, user, last, epoch, nowMS)
		return user, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return "", wrap(ctx, err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `SELECT username, last_used_ms FROM sessions WHERE id = ?`, id).Scan(&user, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", wrap(ctx, err)
	}
	if ms(now)-last > maxIdle.Milliseconds() {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
			return "", wrap(ctx, err)
		}
		if err := s.durable(ctx, tx.Commit()); err != nil {
			return "", err
		}
		s.sessions.forget(id)
		return "", store.ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET last_used_ms = MAX(last_used_ms, ?) WHERE id = ?`, nowMS, id); err != nil {
		return "", wrap(ctx, err)
	}
	if err := s.durable(ctx, tx.Commit()); err != nil {
		return "", err
	}
	s.sessions.remember(id, user, max(last, nowMS), epoch, nowMS)
	return user, nil
}

// DeleteSession removes a session; a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id)
	s.sessions.forget(id) // also on error: the next touch asks the database
	return s.durable(ctx, err)
}
