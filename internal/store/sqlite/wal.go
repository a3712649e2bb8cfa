package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/parley-chat/parley/internal/fsync"
	"github.com/parley-chat/parley/internal/store"
)

// walLog flushes the write-ahead log after each write transaction.
//
// The writer connection runs with synchronous=NORMAL, so SQLite itself
// syncs the log only when it checkpoints; every write method of the Store
// calls flush after its commit and before it returns, so that what it
// committed is on disk when it reports success, as with synchronous=FULL.
// Two differences: SQLite's own fsync holds the Go processor for its whole
// length, while fsync.Syncer parks the goroutine and lets the processor
// run the rest of the server (see package fsync); and a commit is visible
// to readers from the moment it is made, a fraction of a millisecond
// before its flush completes (with FULL, after).
//
// A failed flush is final: after a failed fsync the kernel may have
// dropped the pages and reports that only once, and the log's frames are
// chained by checksums, so later commits cannot be made durable either.
// Every later write then fails with the first error; the server needs a
// restart (and a disk that works).
type walLog struct {
	path string // the log next to the database file SQLite really opened
	sync *fsync.Syncer

	mu     sync.Mutex
	f      *os.File // the log as last opened; guarded by mu
	failed error    // the first failure, final; guarded by mu
	closed bool     // guarded by mu

	flushes atomic.Int64 // completed flushes, for tests
}

// newWALLog finds the log of the database that db has open: SQLite puts
// it next to the file it resolved (through symbolic links, say), which
// may not be where the path given to Open points.
func newWALLog(ctx context.Context, db *sql.DB) (*walLog, error) {
	var seq int
	var name, file string
	if err := db.QueryRowContext(ctx, `PRAGMA database_list`).Scan(&seq, &name, &file); err != nil {
		return nil, err
	}
	if file == "" {
		return nil, errors.New("sqlite: the database has no file")
	}
	return &walLog{path: file + "-wal", sync: fsync.New()}, nil
}

// flush makes every committed transaction durable. The log is opened on
// first use, and again when SQLite has replaced it.
func (l *walLog) flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed != nil {
		return l.failed
	}
	if l.closed {
		return fmt.Errorf("%w: sqlite: the store is closed", store.ErrUnavailable)
	}
	// While the writer's connection is open SQLite keeps its log (it
	// deletes it only when its last connection closes), so a missing log
	// is an error, not nothing to flush.
	cur, err := os.Stat(l.path)
	if err != nil {
		return l.fail(err)
	}
	if l.f != nil {
		if held, err := l.f.Stat(); err != nil || !os.SameFile(held, cur) {
			l.f.Close()
			l.f = nil
		}
	}
	if l.f == nil {
		f, err := os.OpenFile(l.path, os.O_RDWR, 0)
		if err != nil {
			return l.fail(err)
		}
		l.f = f
	}
	if err := l.sync.Sync(l.f); err != nil {
		return l.fail(err)
	}
	l.flushes.Add(1)
	return nil
}

// fail records err as the log's final failure; l.mu is held.
func (l *walLog) fail(err error) error {
	l.failed = fmt.Errorf("%w: sqlite: flushing the write-ahead log %s: %v (restart the server)", store.ErrUnavailable, l.path, err)
	return l.failed
}

// close releases the log's file and the syncer; flush fails afterwards.
func (l *walLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var err error
	if l.f != nil {
		err = l.f.Close()
		l.f = nil
	}
	return errors.Join(err, l.sync.Close())
}
