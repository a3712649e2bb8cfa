package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/store"
)

func testUsers(t *testing.T, open Opener) {
	s := open(t)
	c := ctx(t)
	created := base.Add(1234567 * time.Microsecond) // 1.234567 s: truncated to 1.234 s
	if err := s.CreateUser(c, "Alice", "hash-a", created); err != nil {
		t.Fatalf("CreateUser(Alice): %v", err)
	}
	if err := s.CreateUser(c, "bob.b-2", "hash-b", base); err != nil {
		t.Fatalf("CreateUser(bob.b-2): %v", err)
	}

	conflicts := []string{"Alice", "alice", "ALICE", "aLiCe", "BOB.B-2"}
	for _, name := range conflicts {
		t.Run("conflict/"+name, func(t *testing.T) {
			err := s.CreateUser(c, name, "other", base)
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("CreateUser(%q) = %v, want ErrConflict", name, err)
			}
		})
	}

	lookups := []struct {
		query, name, hash string
		created           time.Time
	}{
		{"Alice", "Alice", "hash-a", base.Add(1234 * time.Millisecond)},
		{"alice", "Alice", "hash-a", base.Add(1234 * time.Millisecond)},
		{"ALICE", "Alice", "hash-a", base.Add(1234 * time.Millisecond)},
		{"Bob.B-2", "bob.b-2", "hash-b", base},
	}
	for _, tc := range lookups {
		t.Run("lookup/"+tc.query, func(t *testing.T) {
			u, err := s.User(c, tc.query)
			if err != nil {
				t.Fatalf("User(%q): %v", tc.query, err)
			}
			if u.Name != tc.name || u.PasswordHash != tc.hash {
				t.Errorf("User(%q) = %q/%q, want %q/%q", tc.query, u.Name, u.PasswordHash, tc.name, tc.hash)
			}
			if !u.Created.Equal(tc.created) || u.Created.Location() != time.UTC {
				t.Errorf("User(%q).Created = %v, want %v in UTC", tc.query, u.Created, tc.created)
			}
		})
	}

	for _, name := range []string{"carol", "alic", "alice2", ""} {
		t.Run("missing/"+name, func(t *testing.T) {
			if _, err := s.User(c, name); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("User(%q) = %v, want ErrNotFound", name, err)
			}
		})
	}
}

func testSessions(t *testing.T, open Opener) {
	const idle = time.Hour
	tests := []struct {
		name string
		// touches are offsets from creation; each must succeed.
		touches []time.Duration
		// last is the offset of the final touch.
		last time.Duration
		// alive is whether the final touch finds the session.
		alive bool
	}{
		{"fresh", nil, 0, true},
		{"within idle", nil, idle - time.Millisecond, true},
		{"exactly idle", nil, idle, true},
		{"beyond idle", nil, idle + time.Millisecond, false},
		{"touch extends", []time.Duration{idle / 2, idle}, idle + idle/2, true},
		{"touch extends twice", []time.Duration{idle, 2 * idle}, 3 * idle, true},
		{"idle after touches", []time.Duration{idle / 2}, idle/2 + idle + time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			c := ctx(t)
			if err := s.CreateSession(c, "sess-1", "Alice", base); err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
			if err := s.CreateSession(c, "sess-2", "bob", base); err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
			for _, d := range tc.touches {
				if user, err := s.TouchSession(c, "sess-1", base.Add(d), idle); err != nil || user != "Alice" {
					t.Fatalf("TouchSession at +%v = %q, %v; want Alice", d, user, err)
				}
			}
			user, err := s.TouchSession(c, "sess-1", base.Add(tc.last), idle)
			if tc.alive {
				if err != nil || user != "Alice" {
					t.Fatalf("TouchSession at +%v = %q, %v; want Alice", tc.last, user, err)
				}
			} else {
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("TouchSession at +%v = %q, %v; want ErrNotFound", tc.last, user, err)
				}
				// An expired session is gone, even for a touch at its
				// creation time.
				if _, err := s.TouchSession(c, "sess-1", base, idle); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("expired session touched again: %v, want ErrNotFound", err)
				}
			}
			// The other session is untouched by all of this.
			if user, err := s.TouchSession(c, "sess-2", base, idle); err != nil || user != "bob" {
				t.Fatalf("other session = %q, %v; want bob", user, err)
			}
		})
	}

	t.Run("delete", func(t *testing.T) {
		s := open(t)
		c := ctx(t)
		if err := s.CreateSession(c, "sess-1", "Alice", base); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if err := s.DeleteSession(c, "sess-1"); err != nil {
			t.Fatalf("DeleteSession: %v", err)
		}
		if _, err := s.TouchSession(c, "sess-1", base, idle); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("TouchSession after delete = %v, want ErrNotFound", err)
		}
		if err := s.DeleteSession(c, "sess-1"); err != nil {
			t.Fatalf("DeleteSession of a deleted session: %v", err)
		}
		if err := s.DeleteSession(c, "never-existed"); err != nil {
			t.Fatalf("DeleteSession of a missing session: %v", err)
		}
	})

	t.Run("missing", func(t *testing.T) {
		s := open(t)
		if _, err := s.TouchSession(ctx(t), "nope", base, idle); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("TouchSession(missing) = %v, want ErrNotFound", err)
		}
	})
}
