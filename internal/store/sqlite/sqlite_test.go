package sqlite

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// TestMain removes the benchmark fixture (if one was built) before
// checking that no goroutine outlives the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	closeBigFixture()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// openTemp opens a store in a fresh temporary folder, closed at the end of
// the test.
func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

// base is a fixed, millisecond-aligned instant for tests.
func base() time.Time { return time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC) }
