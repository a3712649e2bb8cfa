package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/fsync"
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
// again (flushing the old one would leave the new one unflushed).
func TestWALLogFollowsTheFile(t *testing.T) {
	wal := filepath.Join(t.TempDir(), "x.db-wal")
	l := &walLog{path: wal, sync: fsync.New()}
	defer l.close()
	if err := os.WriteFile(wal, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := l.flush(); err != nil {
		t.Fatal(err)
	}
	first := l.f
	if err := os.Remove(wal); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wal, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := l.flush(); err != nil {
		t.Fatal(err)
	}
	if l.f == first {
		t.Fatal("still flushing the replaced log")
	}
	cur, _ := os.Stat(wal)
	if held, err := l.f.Stat(); err != nil || !os.SameFile(held, cur) {
		t.Fatalf("holding a file other than the log: %v", err)
	}
	if n := l.flushes.Load(); n != 2 {
		t.Fatalf("%d flushes, want 2", n)
	}
}

// TestWALLogFailureIsFinal: a log that cannot be flushed (here: missing,
// which while the store is open means something is wrong) fails the
// write, and every later one, even once the file is back: after a failed
// fsync nothing says the earlier pages reached the disk.
func TestWALLogFailureIsFinal(t *testing.T) {
	wal := filepath.Join(t.TempDir(), "x.db-wal")
	l := &walLog{path: wal, sync: fsync.New()}
	defer l.close()
	err := l.flush()
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("missing log: %v", err)
	}
	if err := os.WriteFile(wal, []byte("back"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err2 := l.flush(); err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("after a failure: %v, want the first failure again", err2)
	}
}

// TestWALLogBehindASymlink: with parley.db a symbolic link to a file in
// another folder, SQLite keeps its log next to the real file, and that is
// the log the Store flushes.
func TestWALLogBehindASymlink(t *testing.T) {
	real, dir := t.TempDir(), t.TempDir()
	seed, err := Open(context.Background(), real)
	if err != nil {
		t.Fatal(err)
	}
	if err := seed.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(real, FileName), filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if want := filepath.Join(real, FileName) + "-wal"; s.wal.path != want {
		t.Fatalf("flushing %s, want %s", s.wal.path, want)
	}
	before := s.wal.flushes.Load()
	if err := s.CreateUser(context.Background(), "ann", "hash", time.Now()); err != nil {
		t.Fatal(err)
	}
	if s.wal.flushes.Load() == before {
		t.Fatal("a write through the symbolic link was not flushed")
	}
}
