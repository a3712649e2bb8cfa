package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
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
// then calls flush before it returns, which makes what it committed as
// durable as synchronous=FULL would (an fsync of the log after each
// commit). The difference is who waits: SQLite's own fsync holds the Go
// processor for its whole length, while fsync.Syncer parks the goroutine
// and lets the processor run the rest of the server (see package fsync).
type walLog struct {
	path string
	sync *fsync.Syncer

	mu sync.Mutex
	f  *os.File // the log as last opened; guarded by mu

	flushes atomic.Int64 // completed flushes, for tests
}

func newWALLog(dbPath string) *walLog {
	return &walLog{path: dbPath + "-wal", sync: fsync.New()}
}

// flush makes every committed transaction durable. The log is opened on
// first use, and again when SQLite has replaced it (it deletes the log
// when its last connection closes). No log at all means nothing is
// waiting in one: the database file has everything.
func (l *walLog) flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, err := os.Stat(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return l.failed(err)
	}
	if l.f != nil {
		if held, err := l.f.Stat(); err != nil || !os.SameFile(held, cur) {
			l.f.Close()
			l.f = nil
		}
	}
	if l.f == nil {
		f, err := os.OpenFile(l.path, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return l.failed(err)
		}
		l.f = f
	}
	if err := l.sync.Sync(l.f); err != nil {
		return l.failed(err)
	}
	l.flushes.Add(1)
	return nil
}

// failed reports a log that could not be flushed: what was committed is
// in the database, but may not survive a power loss.
func (l *walLog) failed(err error) error {
	return fmt.Errorf("%w: sqlite: flushing the write-ahead log: %v", store.ErrUnavailable, err)
}

// close releases the log's file and the syncer.
func (l *walLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var err error
	if l.f != nil {
		err = l.f.Close()
		l.f = nil
	}
	return errors.Join(err, l.sync.Close())
}
