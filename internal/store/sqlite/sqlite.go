// Package sqlite is Parley's embedded store: one SQLite database file,
// through the pure-Go driver modernc.org/sqlite (no cgo).
//
// Durability: the database runs in WAL mode, and every write method flushes
// the write-ahead log (fsync) after its commit and before it returns (see
// walLog for why the Store does it rather than SQLite, and how that differs
// from synchronous=FULL). A message acknowledged to a client therefore
// survives the process being killed (SIGKILL) and, as far as the disk
// honours fsync, a power loss.
//
// Concurrency: SQLite allows one writer at a time. The Store keeps exactly
// one writer connection (all writes queue on it inside database/sql) and a
// separate pool of read-only connections, so that reads see the last
// committed state without waiting behind writes.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/parley-chat/parley/internal/store"
)

// FileName is the name of the database file inside the data folder.
const FileName = "parley.db"

// busyTimeoutMS is how long a connection waits for a lock held by another
// connection (for example a reader checkpointing the WAL) before failing.
const busyTimeoutMS = 5000

// Store is a store.Store backed by one SQLite file. It is safe for
// concurrent use.
type Store struct {
	// w is the only connection that writes (MaxOpenConns 1).
	w *sql.DB
	// r is the read-only pool used by History, Since and User.
	r *sql.DB

	// newest caches each room's newest message id, for Prev. Only w writes
	// messages, one transaction at a time, so after a first look-up the
	// cache is exact; it is updated after each commit and bounded by
	// maxNewest rooms (emptied when full).
	newestMu sync.Mutex
	newest   map[string]int64

	// sessions caches recently touched sessions (see sessionCache).
	sessions sessionCache

	// wal flushes the log after each write (see durable).
	wal *walLog

	// The statements of the hot paths, prepared once (database/sql keeps
	// them prepared on each connection of their pool).
	insertMsg, roomNewest *sql.Stmt // on w
	history, since        *sql.Stmt // on r
}

// prepare readies the hot-path statements.
func (s *Store) prepare(ctx context.Context) error {
	const cols = `SELECT id, room, sender, body, sent_ms FROM messages WHERE room = ? `
	for _, p := range []struct {
		db   *sql.DB
		dst  **sql.Stmt
		text string
	}{
		{s.w, &s.insertMsg, `INSERT INTO messages (room, sender, body, sent_ms) VALUES (?, ?, ?, ?) RETURNING id`},
		{s.w, &s.roomNewest, `SELECT COALESCE(MAX(id), 0) FROM messages WHERE room = ?`},
		{s.r, &s.history, cols + `AND id < ? ORDER BY id DESC LIMIT ?`},
		{s.r, &s.since, cols + `AND id > ? ORDER BY id DESC LIMIT ?`},
	} {
		st, err := p.db.PrepareContext(ctx, p.text)
		if err != nil {
			return err
		}
		*p.dst = st
	}
	return nil
}

// maxNewest bounds the rooms whose newest id is cached.
const maxNewest = 10000

var _ store.Store = (*Store)(nil)

// Open creates dir if needed, opens (or creates) dir/parley.db and brings its
// schema up to date. It fails with a clear error when dir cannot be used.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	// The driver takes a file: URI, in which a relative path would read
	// its first folder as the URI's authority ("file://data/parley.db"):
	// the path is made absolute first.
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sqlite: data folder %s: %w", dir, err)
	}
	path := filepath.Join(abs, FileName)

	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	wal, err := newWALLog(ctx, w)
	if err == nil {
		if err = wal.flush(); err != nil {
			wal.close()
		}
	}
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: the write-ahead log of %s: %w", path, err)
	}

	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		wal.close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		wal.close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s := &Store{w: w, r: r, wal: wal}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: prepare statements in %s: %w", path, err)
	}
	return s, nil
}

// checkDir creates dir when missing and verifies that it is a writable
// folder, so that a bad -data value fails start-up with a clear message.
func checkDir(dir string) error {
	if dir == "" {
		return errors.New("sqlite: no data folder given")
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("sqlite: data folder %s is not a folder", dir)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("sqlite: data folder %s: %w", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".parley-probe-*")
	if err != nil {
		return fmt.Errorf("sqlite: data folder %s is not writable: %w", dir, err)
	}
	name := probe.Name()
	probe.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("sqlite: data folder %s: %w", dir, err)
	}
	return nil
}

// dsn builds the driver's connection string: WAL, synchronous=NORMAL (the
// Store flushes the log itself after each write: see walLog), a busy
// timeout and foreign keys on every connection; BEGIN IMMEDIATE for the
// writer so that a write transaction takes its lock up front; query_only
// for readers. path must be absolute.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "foreign_keys(ON)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	} else {
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// Ping reports whether the database answers, on both the writer and the
// readers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return wrap(ctx, err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return wrap(ctx, err)
	}
	return nil
}

// Close closes both pools. The WAL is checkpointed by SQLite when the last
// connection closes.
func (s *Store) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.insertMsg, s.roomNewest, s.history, s.since} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(append(errs, s.r.Close(), s.w.Close(), s.wal.close())...)
}

// durable flushes what the writer has committed (see walLog); every write
// method calls it after its commit, with the commit's error.
func (s *Store) durable(ctx context.Context, err error) error {
	if err != nil {
		return wrap(ctx, err)
	}
	return s.wal.flush()
}

// errInvalid reports a row the schema refuses (a CHECK or NOT NULL
// constraint): a bug in the caller, not an outage.
var errInvalid = errors.New("sqlite: invalid data")

// wrap classifies a database error: the context's own error when ctx is
// done, ErrConflict for a uniqueness violation, errInvalid for other
// constraint violations, ErrUnavailable for everything else (closed
// database, I/O errors, lock time-outs).
func wrap(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("sqlite: %w", ctx.Err())
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sqlite: %w", err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		}
		return fmt.Errorf("%w: %v", errInvalid, err)
	}
	return fmt.Errorf("%w: sqlite: %v", store.ErrUnavailable, err)
}
