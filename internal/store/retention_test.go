package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/store"
)

func TestPruner(t *testing.T) {
	now := time.Now().UTC()
	tests := []struct {
		name     string
		ret      store.Retention
		first    int64 // deleted by the run at start
		keepA    int   // messages of room a left after it
		keepB    int
		disabled bool
	}{
		{"by age", store.Retention{MaxAge: time.Hour}, 6, 5, 4, false},
		{"by count", store.Retention{MaxPerRoom: 3}, 9, 3, 3, false},
		{"both", store.Retention{MaxAge: time.Hour, MaxPerRoom: 3}, 9, 3, 3, false},
		{"keeps everything", store.Retention{}, 0, 10, 5, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spy := newSpy(t, false)
			spy.pruned = make(chan int64)
			// Room a: 10 messages, the first 5 two hours old. Room b: 5
			// messages, the first one two hours old.
			var msgs []store.Message
			for i := 0; i < 10; i++ {
				sent := now
				if i < 5 {
					sent = now.Add(-2 * time.Hour)
				}
				msgs = append(msgs, store.Message{Room: "a", From: "x", Text: fmt.Sprint(i), Sent: sent})
			}
			for i := 0; i < 5; i++ {
				sent := now
				if i < 1 {
					sent = now.Add(-2 * time.Hour)
				}
				msgs = append(msgs, store.Message{Room: "b", From: "x", Text: fmt.Sprint(i), Sent: sent})
			}
			if err := spy.SaveMessages(context.Background(), msgs); err != nil {
				t.Fatal(err)
			}

			stop := store.StartPruner(spy, tc.ret, time.Millisecond, slog.New(slog.DiscardHandler))
			t.Cleanup(stop)
			if !tc.disabled {
				if n := <-spy.pruned; n != tc.first {
					t.Fatalf("first prune deleted %d, want %d", n, tc.first)
				}
				// The pruner keeps running: the next tick deletes nothing more.
				if n := <-spy.pruned; n != 0 {
					t.Fatalf("second prune deleted %d, want 0", n)
				}
			}
			stop()
			stop() // stopping twice is harmless
			for room, want := range map[string]int{"a": tc.keepA, "b": tc.keepB} {
				got, err := spy.History(context.Background(), room, 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != want {
					t.Errorf("room %s keeps %d messages, want %d", room, len(got), want)
				}
			}
		})
	}
}

// TestPrunerStops checks that stop returns promptly between ticks.
func TestPrunerStops(t *testing.T) {
	spy := newSpy(t, false)
	spy.pruned = make(chan int64, 1)
	stop := store.StartPruner(spy, store.Retention{MaxPerRoom: 1}, time.Hour, nil)
	<-spy.pruned // the run at start happened
	stop()       // returns although the next tick is an hour away
}
