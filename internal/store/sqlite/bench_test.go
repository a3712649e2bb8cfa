package sqlite

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/store"
)

// BenchmarkWriter measures messages stored per second through the group
// commit Writer with many concurrent senders, and the latency of each
// Write (its ack).
func BenchmarkWriter(b *testing.B) {
	for _, senders := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			s, err := Open(context.Background(), b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var published atomic.Int64
			w := store.NewWriter(s, func(batch []store.Message) { published.Add(int64(len(batch))) }, store.WriterOptions{})
			defer w.Close()

			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, senders)
			b.ResetTimer()
			start := time.Now()
			for g := 0; g < senders; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					room := fmt.Sprintf("room%d", g%16)
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						t0 := time.Now()
						if _, err := w.Write(context.Background(), store.Message{Room: room, From: "bench", Text: "a benchmark message of ordinary length"}); err != nil {
							errs <- err
							return
						}
						lat[i] = time.Since(t0)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			if published.Load() != int64(b.N) {
				b.Fatalf("published %d of %d", published.Load(), b.N)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// bigRoom is the room of the History benchmark's fixture.
const (
	bigRoom      = "big"
	bigRoomSize  = 1_000_000
	otherRooms   = 8
	otherPerRoom = 25_000
)

var (
	bigOnce  sync.Once
	bigDir   string
	bigStore *Store
	bigErr   error
)

// bigFixture builds, once per test binary and only when a benchmark asks
// for it, a database holding one room of a million messages among 200,000
// messages of other rooms. Rows are generated inside SQLite by a recursive
// query, so building it takes seconds rather than minutes.
func bigFixture(b *testing.B) *Store {
	b.Helper()
	bigOnce.Do(func() {
		bigDir, bigErr = os.MkdirTemp("", "parley-bench-")
		if bigErr != nil {
			return
		}
		bigStore, bigErr = Open(context.Background(), bigDir)
		if bigErr != nil {
			return
		}
		start := time.Now().Add(-time.Hour).UnixMilli()
		// Interleave: each step stores one message in the big room and,
		// every fifth step, one in another room, so the big room's ids
		// are not contiguous.
		_, bigErr = bigStore.w.Exec(`
			WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
			INSERT INTO messages (room, sender, body, sent_ms)
			SELECT CASE WHEN x % 5 = 0 THEN 'room' || (x / 5 % ?) ELSE ? END,
			       'bench', 'message number ' || x, ? + x / 100
			FROM n`,
			bigRoomSize+bigRoomSize/4, otherRooms, bigRoom, start)
	})
	if bigErr != nil {
		b.Fatalf("building the big fixture: %v", bigErr)
	}
	return bigStore
}

// closeBigFixture removes the History fixture, if a benchmark built it.
func closeBigFixture() {
	if bigStore != nil {
		bigStore.Close()
	}
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
}

// BenchmarkHistoryPage measures reading a page of 50 messages from the
// middle of a room of a million messages.
func BenchmarkHistoryPage(b *testing.B) {
	s := bigFixture(b)
	ctx := context.Background()
	var lo, hi int64
	if err := s.r.QueryRow(`SELECT MIN(id), MAX(id) FROM messages WHERE room = ?`, bigRoom).Scan(&lo, &hi); err != nil {
		b.Fatal(err)
	}
	var n int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM messages WHERE room = ?`, bigRoom).Scan(&n); err != nil {
		b.Fatal(err)
	}
	if n != bigRoomSize {
		b.Fatalf("fixture room holds %d messages, want %d", n, bigRoomSize)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// Walk different pages around the middle so one hot page is not
		// all that is measured.
		before := (lo+hi)/2 + int64(i%1000)*50
		page, err := s.History(ctx, bigRoom, before, 50)
		if err != nil {
			b.Fatal(err)
		}
		if len(page) != 50 {
			b.Fatalf("page of %d messages, want 50", len(page))
		}
	}
}
