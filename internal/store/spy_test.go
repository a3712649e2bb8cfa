package store_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/sqlite"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openSQLite opens a real SQLite store in a temporary folder.
func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// errInjected is what spyStore returns when told to fail.
var errInjected = errors.New("injected failure")

// spyStore wraps a real store: it records the size of every SaveMessages
// batch and the number of Prune calls, can hold the first SaveMessages until
// released, and can be told to fail.
type spyStore struct {
	store.Store

	// hold, when not nil, makes the first SaveMessages close entered and
	// wait until hold is closed.
	hold    chan struct{}
	entered chan struct{}
	once    sync.Once

	// pruned receives the result of every Prune call, when not nil.
	pruned chan int64

	mu    sync.Mutex
	sizes []int
	fail  bool
}

func newSpy(t *testing.T, hold bool) *spyStore {
	t.Helper()
	s := &spyStore{Store: openSQLite(t)}
	if hold {
		s.hold = make(chan struct{})
		s.entered = make(chan struct{})
		// Never leave the writer stuck if the test fails early.
		t.Cleanup(s.release)
	}
	return s
}

// release lets a held SaveMessages (and all later ones) proceed.
func (s *spyStore) release() {
	select {
	case <-s.hold:
	default:
		close(s.hold)
	}
}

func (s *spyStore) SaveMessages(ctx context.Context, msgs []store.Message) error {
	if s.hold != nil {
		s.once.Do(func() { close(s.entered) })
		<-s.hold
	}
	s.mu.Lock()
	fail := s.fail
	s.sizes = append(s.sizes, len(msgs))
	s.mu.Unlock()
	if fail {
		return errInjected
	}
	return s.Store.SaveMessages(ctx, msgs)
}

func (s *spyStore) Prune(ctx context.Context, olderThan time.Time, keep int) (int64, error) {
	n, err := s.Store.Prune(ctx, olderThan, keep)
	if s.pruned != nil && err == nil {
		select {
		case s.pruned <- n:
		case <-ctx.Done(): // the pruner is stopping; nobody listens
		}
	}
	return n, err
}

func (s *spyStore) setFail(v bool) {
	s.mu.Lock()
	s.fail = v
	s.mu.Unlock()
}

func (s *spyStore) batchSizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.sizes...)
}

// waitQueued yields until n messages wait in w's queue. The writer's
// goroutine is held inside SaveMessages meanwhile, so the count only grows.
func waitQueued(t *testing.T, w *store.Writer, n int) {
	t.Helper()
	for store.QueueLen(w) < n {
		runtime.Gosched()
	}
}
