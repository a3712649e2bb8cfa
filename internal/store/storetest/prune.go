package storetest

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/store"
)

func testPrune(t *testing.T, open Opener) {
	// Rooms a and b get one message a second from base; room c is small.
	cases := []struct {
		name      string
		olderThan time.Duration // offset from base; 0 means the zero time
		keep      int
		deleted   int64
		remain    map[string][2]int // room -> [first, end) of the msg indexes left
	}{
		{"nothing asked", 0, 0, 0, map[string][2]int{"a": {0, 1500}, "b": {0, 1500}, "c": {0, 3}}},
		{"by age", 1000 * time.Second, 0, 2003, map[string][2]int{"a": {1000, 1500}, "b": {1000, 1500}, "c": {0, 0}}},
		{"by age, boundary kept", 1 * time.Second, 0, 3, map[string][2]int{"a": {1, 1500}, "b": {1, 1500}, "c": {1, 3}}},
		{"by count", 0, 10, 2980, map[string][2]int{"a": {1490, 1500}, "b": {1490, 1500}, "c": {0, 3}}},
		{"by count, more than a batch", 0, 1, 3000, map[string][2]int{"a": {1499, 1500}, "b": {1499, 1500}, "c": {2, 3}}},
		{"both", 1495 * time.Second, 10, 2993, map[string][2]int{"a": {1495, 1500}, "b": {1495, 1500}, "c": {0, 0}}},
		{"age before everything", -time.Hour, 0, 0, map[string][2]int{"a": {0, 1500}, "b": {0, 1500}, "c": {0, 3}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			saved := map[string][]store.Message{
				"a": fill(t, s, "a", 1500),
				"b": fill(t, s, "b", 1500),
				"c": fill(t, s, "c", 3),
			}
			var olderThan time.Time
			if tc.olderThan != 0 {
				olderThan = base.Add(tc.olderThan)
			}
			n, err := s.Prune(ctx(t), olderThan, tc.keep)
			if err != nil {
				t.Fatalf("Prune: %v", err)
			}
			if n != tc.deleted {
				t.Errorf("Prune deleted %d, want %d", n, tc.deleted)
			}
			for room, r := range tc.remain {
				got := history(t, s, room, 0, 5000)
				want := saved[room][r[0]:r[1]]
				if !equalIDs(ids(got), ids(want)) {
					t.Errorf("room %q keeps %d messages, want %d", room, len(got), len(want))
				}
			}
		})
	}
}

func testConcurrent(t *testing.T, open Opener) {
	s := open(t)
	const (
		writers = 8
		rounds  = 40
	)
	rooms := []string{"x", "y", "z"}
	type result struct {
		writer int
		msgs   []store.Message
	}
	results := make(chan result, writers*rounds)
	errs := make(chan error, writers)
	c := ctx(t)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				batch := make([]store.Message, 1+r%3)
				for i := range batch {
					batch[i] = store.Message{
						Room: rooms[(w+r+i)%len(rooms)],
						From: fmt.Sprintf("writer%d", w),
						Text: fmt.Sprintf("%d/%d/%d", w, r, i),
						Sent: base,
					}
				}
				if err := s.SaveMessages(c, batch); err != nil {
					errs <- err
					return
				}
				results <- result{w, batch}
			}
		}()
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent SaveMessages: %v", err)
	}

	seen := map[int64]store.Message{}
	last := map[int]int64{} // per writer, the last id it got
	perRoom := map[string][]int64{}
	for r := range results {
		for _, m := range r.msgs {
			if _, dup := seen[m.ID]; dup {
				t.Fatalf("id %d given twice", m.ID)
			}
			seen[m.ID] = m
			// One writer's saves commit one after another, so its ids
			// increase across and within its batches.
			if m.ID <= last[r.writer] {
				t.Fatalf("writer %d got id %d after %d", r.writer, m.ID, last[r.writer])
			}
			last[r.writer] = m.ID
			perRoom[m.Room] = append(perRoom[m.Room], m.ID)
		}
	}
	for _, room := range rooms {
		want := perRoom[room]
		sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
		// Prev chains the room in id order, whichever writer saved what.
		for i, id := range want {
			var prev int64
			if i > 0 {
				prev = want[i-1]
			}
			if seen[id].Prev != prev {
				t.Fatalf("room %q: message %d has Prev %d, want %d", room, id, seen[id].Prev, prev)
			}
		}
		got := history(t, s, room, 0, 10000)
		if !equalIDs(ids(got), want) {
			t.Fatalf("room %q holds %d messages, want %d", room, len(got), len(want))
		}
		for _, m := range got {
			saved := seen[m.ID]
			saved.Prev = 0
			if saved != m {
				t.Fatalf("stored %+v, saved %+v", m, saved)
			}
		}
	}
}
