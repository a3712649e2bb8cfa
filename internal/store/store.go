// Package store defines how Parley persists users, sessions and messages.
//
// Implementations live in sub-packages (sqlite, postgres) and must pass the
// conformance suite in package storetest. Nothing here knows about HTTP or
// WebSockets.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors returned by every Store implementation. Callers compare with
// errors.Is.
var (
	// ErrNotFound: the user or session does not exist (or has expired).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a user with that name (compared regardless of case)
	// already exists.
	ErrConflict = errors.New("store: already exists")
	// ErrUnavailable: the database cannot be reached right now.
	ErrUnavailable = errors.New("store: unavailable")
)

// User is a registered account.
type User struct {
	// Name is the username as registered (original case).
	Name string
	// PasswordHash is the encoded slow hash (e.g. a bcrypt string).
	PasswordHash string
	// Created is when the account was registered, in UTC.
	Created time.Time
}

// Message is one chat message as stored.
type Message struct {
	// ID is positive and increases within a room in commit order. Ids are
	// never reused, not even after a restart.
	ID int64
	// Room is the room name.
	Room string
	// From is the authenticated sender's username.
	From string
	// Text is the message body, already validated and trimmed.
	Text string
	// Sent is the server time the message was accepted, UTC, millisecond
	// precision.
	Sent time.Time
	// Prev is the ID of the room's message stored just before this one, 0
	// for a room's first. SaveMessages sets it; History and Since leave it
	// 0. Nodes of a cluster use it to see that a message reached them out
	// of order (Prev is newer than the last one they delivered). An
	// implementation may report 0 when retention has deleted every earlier
	// message of the room.
	Prev int64
}

// TouchResolution is how finely TouchSession records a session's last use.
const TouchResolution = time.Minute

// Store is the persistence interface. All methods are safe for concurrent
// use.
//
// Times are stored at millisecond precision (finer parts are truncated) and
// returned in UTC. A limit <= 0 given to History or Since yields an empty
// result. Returned slices are never nil. Failures to reach the database wrap
// ErrUnavailable; a cancelled context is reported as the context's error.
type Store interface {
	// CreateUser registers a user. Names are unique regardless of case:
	// ErrConflict if one exists.
	CreateUser(ctx context.Context, name, passwordHash string, now time.Time) error
	// User finds a user by name, regardless of case. ErrNotFound if none.
	User(ctx context.Context, name string) (User, error)

	// CreateSession stores a session under id (an opaque key; callers pass a
	// hash of the cookie value, never the cookie itself).
	CreateSession(ctx context.Context, id, username string, now time.Time) error
	// TouchSession returns the session's username and records now as its
	// last use. A session unused for longer than maxIdle is deleted and
	// reported as ErrNotFound. A use less than TouchResolution after the
	// last recorded one need not be recorded (so that a busy session costs
	// reads, not writes).
	TouchSession(ctx context.Context, id string, now time.Time, maxIdle time.Duration) (string, error)
	// DeleteSession removes a session; deleting a missing one is not an error.
	DeleteSession(ctx context.Context, id string) error

	// SaveMessages stores msgs in one transaction and fills in each ID (and
	// Prev), in slice order. Either all are stored or none is. A message with an empty
	// Room or From is rejected by the database, which fails the whole batch;
	// an empty msgs is a no-op.
	SaveMessages(ctx context.Context, msgs []Message) error
	// History returns up to limit messages of room with ID < before (all
	// when before <= 0), the newest ones, oldest first.
	History(ctx context.Context, room string, before int64, limit int) ([]Message, error)
	// Since returns the messages of room with ID > since: the newest limit of
	// them, oldest first, and complete=true when that is all of them.
	Since(ctx context.Context, room string, since int64, limit int) (msgs []Message, complete bool, err error)
	// Prune deletes messages sent before olderThan (when not zero) and, in
	// each room, all but the newest keepPerRoom (when > 0). It returns how
	// many it deleted. It must not hold locks for long: implementations
	// delete in small batches.
	Prune(ctx context.Context, olderThan time.Time, keepPerRoom int) (int64, error)

	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}
