package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/store"
)

func TestOpenBadFolder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, want string
	}{
		{"empty", "", "no data folder"},
		{"is a file", file, "not a folder"},
		{"below a file", filepath.Join(file, "sub"), "data folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(context.Background(), tc.dir)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tc.dir)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open(%q) = %v, want an error mentioning %q", tc.dir, err, tc.want)
			}
		})
	}
}

func TestOpenCreatesFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("database file: %v", err)
	}
}

func TestPragmas(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "1"}, // NORMAL: the Store flushes the log itself (see walLog)
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
	}
	for _, tc := range tests {
		t.Run(tc.pragma, func(t *testing.T) {
			var w, r string
			if err := s.w.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&w); err != nil {
				t.Fatal(err)
			}
			if err := s.r.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&r); err != nil {
				t.Fatal(err)
			}
			if w != tc.want || r != tc.want {
				t.Fatalf("PRAGMA %s = %q (writer), %q (reader), want %q", tc.pragma, w, r, tc.want)
			}
		})
	}
	if _, err := s.r.ExecContext(ctx, `DELETE FROM messages`); err == nil {
		t.Fatal("the read pool accepted a write")
	}
}

// reopen closes s and opens the same folder again.
func reopen(t *testing.T, s *Store, dir string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, "Alice", "h", base()); err != nil {
		t.Fatal(err)
	}
	msgs := []store.Message{{Room: "a", From: "Alice", Text: "1", Sent: base()}, {Room: "a", From: "Alice", Text: "2", Sent: base()}}
	if err := s.SaveMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	// Delete the newest message: its id must still not come back.
	if _, err := s.w.ExecContext(ctx, `DELETE FROM messages WHERE id = ?`, msgs[1].ID); err != nil {
		t.Fatal(err)
	}

	s = reopen(t, s, dir)
	s = reopen(t, s, dir) // a second start-up on a migrated database is a no-op

	var versions, latest int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&versions, &latest); err != nil {
		t.Fatal(err)
	}
	if versions != len(migrations) || latest != len(migrations) {
		t.Fatalf("schema_migrations holds %d rows up to %d, want %d", versions, latest, len(migrations))
	}
	if u, err := s.User(ctx, "alice"); err != nil || u.Name != "Alice" {
		t.Fatalf("User after restart = %+v, %v", u, err)
	}
	next := []store.Message{{Room: "a", From: "Alice", Text: "3", Sent: base()}}
	if err := s.SaveMessages(ctx, next); err != nil {
		t.Fatal(err)
	}
	if next[0].ID <= msgs[1].ID {
		t.Fatalf("id after restart %d reuses or precedes deleted id %d", next[0].ID, msgs[1].ID)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_ms) VALUES (?, 0)`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, dir)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a database from a newer program")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open = %v, want an error about a newer schema", err)
	}
}

func TestReadsDoNotWaitForWriter(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	saved := []store.Message{{Room: "a", From: "Alice", Text: "committed", Sent: base()}}
	if err := s.SaveMessages(ctx, saved); err != nil {
		t.Fatal(err)
	}
	// Hold the only writer connection inside an open write transaction.
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages (room, sender, body, sent_ms) VALUES ('a', 'Bob', 'pending', 0)`); err != nil {
		t.Fatal(err)
	}
	// Readers still answer, and see only committed rows.
	got, err := s.History(ctx, "a", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != saved[0].ID {
		t.Fatalf("History during a write = %+v, want only the committed message", got)
	}
}

// TestOpenFolderForms opens the database in every form of -data a user may
// type: relative (the default ./data, a bare name, a nested one), with
// spaces and characters a URI would read otherwise, absolute, and through a
// symbolic link; each stores a user that a second Open of the same folder
// finds, and the file lands where the folder says.
func TestOpenFolderForms(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	if err := os.Mkdir(filepath.Join(work, "real"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(work, "real"), filepath.Join(work, "link")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, file string // file: where parley.db must be, relative to work
	}{
		{"default", "./data", "data"},
		{"bare relative", "data2", "data2"},
		{"nested relative", "var/lib/parley", "var/lib/parley"},
		{"parent relative", "../" + filepath.Base(work) + "/up", "up"},
		{"spaces", "my chat data", "my chat data"},
		{"uri characters", "a?b#c%20d&e", "a?b#c%20d&e"},
		{"absolute", filepath.Join(work, "abs data"), "abs data"},
		{"symbolic link", "link", "real"},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(ctx, tc.dir)
			if err != nil {
				t.Fatalf("Open(%q): %v", tc.dir, err)
			}
			if err := s.CreateUser(ctx, "Alice", "h", base()); err != nil {
				s.Close()
				t.Fatalf("CreateUser: %v", err)
			}
			s.Close()
			if _, err := os.Stat(filepath.Join(work, tc.file, FileName)); err != nil {
				t.Fatalf("database file: %v", err)
			}
			s, err = Open(ctx, tc.dir)
			if err != nil {
				t.Fatalf("second Open(%q): %v", tc.dir, err)
			}
			defer s.Close()
			if u, err := s.User(ctx, "alice"); err != nil || u.Name != "Alice" {
				t.Fatalf("User after reopening = %+v, %v", u, err)
			}
		})
	}
}
