package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/store"
)

// A logged-out session is gone for the very next touch, even while other
// requests were touching it (and filling the cache) during the logout.
func TestSessionCacheNeverOutlivesDelete(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateUser(ctx, "alice", "hash", time.Now()); err != nil {
		t.Fatal(err)
	}
	const idle = 24 * time.Hour
	for i := range 20 {
		id := fmt.Sprintf("sess-%d", i)
		now := time.Now()
		if err := s.CreateSession(ctx, id, "alice", now); err != nil {
			t.Fatal(err)
		}
		// A minute on: the next touch writes, and the cache learns it.
		later := now.Add(store.TouchResolution)
		if user, err := s.TouchSession(ctx, id, later, idle); err != nil || user != "alice" {
			t.Fatalf("touch: %q, %v", user, err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					// Past the cached entry's minute: each touch reads the
					// database and tries to cache what it read.
					_, err := s.TouchSession(ctx, id, later.Add(store.TouchResolution+time.Second), idle)
					if err != nil && !errors.Is(err, store.ErrNotFound) {
						t.Error(err)
						return
					}
				}
			}()
		}
		if err := s.DeleteSession(ctx, id); err != nil {
			t.Fatal(err)
		}
		for _, at := range []time.Time{later, later.Add(store.TouchResolution + time.Second)} {
			if user, err := s.TouchSession(ctx, id, at, idle); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("session %d after its deletion: %q, %v", i, user, err)
			}
		}
		close(stop)
		wg.Wait()
	}
}

func TestSessionCacheServesRecentTouchesWithoutTheDatabase(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, "bob", "hash", time.Now()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.CreateSession(ctx, "s1", "bob", now); err != nil {
		t.Fatal(err)
	}
	if user, err := s.TouchSession(ctx, "s1", now.Add(time.Second), time.Hour); err != nil || user != "bob" {
		t.Fatalf("touch: %q, %v", user, err)
	}
	// With the database closed, only the cache can answer.
	s.Close()
	if user, err := s.TouchSession(ctx, "s1", now.Add(2*time.Second), time.Hour); err != nil || user != "bob" {
		t.Fatalf("cached touch: %q, %v", user, err)
	}
	// A minute after the recorded use, the database is asked again.
	if _, err := s.TouchSession(ctx, "s1", now.Add(store.TouchResolution), time.Hour); err == nil {
		t.Fatal("a touch a minute on was answered without the database")
	}
}

// The interleaving the epoch is there for: a touch reads the session from
// the database, the session is deleted, then the touch tries to cache what
// it read.
func TestSessionCacheRefusesAnswersFromBeforeADelete(t *testing.T) {
	var c sessionCache
	now := time.Now().UnixMilli()
	_, ok, epoch := c.lookup("s", now)
	if ok {
		t.Fatal("an empty cache answered")
	}
	c.forget("s") // the logout, between the read and the caching
	c.remember("s", "alice", now, epoch, now)
	if user, ok, _ := c.lookup("s", now); ok {
		t.Fatalf("a deleted session came back from the cache as %q", user)
	}
	_, _, epoch = c.lookup("s", now)
	c.remember("s", "alice", now, epoch, now)
	if user, ok, _ := c.lookup("s", now); !ok || user != "alice" {
		t.Fatalf("lookup after remember: %q, %v", user, ok)
	}
	if _, ok, _ := c.lookup("s", now+store.TouchResolution.Milliseconds()); ok {
		t.Fatal("an entry a minute old was served")
	}
}
