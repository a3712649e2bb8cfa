package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/store"
)

// TestEveryWriteFlushesTheLog: each write method flushes the write-ahead
// log before it returns, since SQLite itself no longer does at commit.
func TestEveryWriteFlushesTheLog(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Now()
	writes := []struct {
		name string
		do   func() error
	}{
		{"CreateUser", func() error { return s.CreateUser(ctx, "ann", "hash", now) }},
		{"CreateSession", func() error { return s.CreateSession(ctx, "s1", "ann", now) }},
		{"TouchSession (recording a use)", func() error {
			_, err := s.TouchSession(ctx, "s1", now.Add(2*store.TouchResolution), time.Hour)
			return err
		}},
		{"TouchSession (expiring)", func() error {
			if _, err := s.TouchSession(ctx, "s1", now.Add(10*time.Hour), time.Hour); err != store.ErrNotFound {
				t.Fatalf("expired session: %v", err)
			}
			return nil
		}},
		{"DeleteSession", func() error {
			if err := s.CreateSession(ctx, "s2", "ann", now); err != nil {
				return err
			}
			before := s.wal.flushes.Load()
			err := s.DeleteSession(ctx, "s2")
			if s.wal.flushes.Load() == before {
				t.Fatal("DeleteSession did not flush")
			}
			return err
		}},
		{"SaveMessages", func() error {
			return s.SaveMessages(ctx, []store.Message{{Room: "general", From: "ann", Text: "hi", Sent: now}})
		}},
		{"Prune", func() error {
			_, err := s.Prune(ctx, now.Add(time.Hour), 0)
			return err
		}},
	}
	for _, w := range writes {
		before := s.wal.flushes.Load()
		if err := w.do(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if s.wal.flushes.Load() == before {
			t.Fatalf("%s returned without flushing the log", w.name)
		}
	}
}

// TestWALLogFollowsTheFile: a log replaced under the same name is opened
// again (flushing the old one would leave the new one unflushed), and no
// log at all is nothing to flush.
func TestWALLogFollowsTheFile(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	l := newWALLog(db)
	defer l.close()
	if err := l.flush(); err != nil || l.f != nil {
		t.Fatalf("no log: err %v, file %v", err, l.f)
	}
	if err := os.WriteFile(db+"-wal", []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := l.flush(); err != nil {
		t.Fatal(err)
	}
	first := l.f
	if err := os.Remove(db + "-wal"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db+"-wal", []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := l.flush(); err != nil {
		t.Fatal(err)
	}
	if l.f == first {
		t.Fatal("still flushing the replaced log")
	}
	cur, _ := os.Stat(db + "-wal")
	if held, err := l.f.Stat(); err != nil || !os.SameFile(held, cur) {
		t.Fatalf("holding a file other than the log: %v", err)
	}
	if n := l.flushes.Load(); n != 2 {
		t.Fatalf("%d flushes, want 2", n)
	}
}
