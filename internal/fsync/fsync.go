// Package fsync flushes files to stable storage without holding up the
// rest of the program.
//
// Why: a goroutine in a system call keeps its processor (P) until the
// runtime's monitor takes it away, and the monitor checks only every 20 µs
// to 10 ms, the longer the less it has found to take lately. An fsync of
// a fraction of a millisecond is therefore usually never taken away from:
// with GOMAXPROCS=1 and a commit after every message, Parley's processor
// stood still in fsync for 19% of the time (996 system calls over 50 µs in
// one second of a runtime trace, none of them handed off) while other
// goroutines had work waiting. On Linux a Syncer asks the kernel for the
// flush through asynchronous I/O and waits for its completion on an
// eventfd, which the runtime's network poller watches, so the goroutine
// parks and the processor runs the others meanwhile. Elsewhere, or where
// the kernel refuses, it calls fsync directly.
package fsync

import (
	"os"
	"sync"
)

// Syncer flushes files; it is safe for concurrent use.
type Syncer struct {
	mu    sync.Mutex // one flush at a time through the kernel context
	async *aio       // nil: fsync directly
}

// New returns a Syncer, asynchronous where the system allows.
func New() *Syncer {
	a, err := newAIO()
	if err != nil {
		return &Syncer{}
	}
	return &Syncer{async: a}
}

// Async reports whether flushes go through asynchronous I/O.
func (s *Syncer) Async() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.async != nil
}

// Sync flushes f's data and metadata to stable storage, like f.Sync, and
// like it waits for the disk however long that takes. Flushes run one at
// a time.
func (s *Syncer) Sync(f *os.File) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.async == nil {
		return f.Sync()
	}
	broken, err := s.async.fsync(f)
	if broken {
		// The kernel context can no longer be trusted (a request may
		// still be in flight, and its completion would be taken for the
		// next one's): destroy it, which waits for what is in flight,
		// and flush directly from now on.
		_ = s.async.close()
		s.async = nil
		return f.Sync()
	}
	return err
}

// Close releases the kernel context; Sync then flushes directly. Flushes
// under way finish first.
func (s *Syncer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.async == nil {
		return nil
	}
	err := s.async.close()
	s.async = nil
	return err
}
