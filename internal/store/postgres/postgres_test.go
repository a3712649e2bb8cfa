package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
	"github.com/parley-chat/parley/internal/testsvc"
)

func TestMain(m *testing.M) { testsvc.Main(m) }

// openFresh opens a store on a new database of the test server, closed at
// the end of the test.
func openFresh(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), testsvc.Postgres(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
}

// base is a fixed, millisecond-aligned instant for tests.
func base() time.Time { return time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC) }
