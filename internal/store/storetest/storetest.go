// Package storetest is the conformance suite every store.Store
// implementation must pass. An implementation's own tests call Run with a
// function that opens a fresh, empty store.
package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/store"
)

// Opener returns a fresh, empty store for one subtest. It must register the
// store's Close (and any other clean-up) with t.Cleanup.
type Opener func(t *testing.T) store.Store

// Run runs the whole conformance suite against the stores that open returns.
// Each subtest gets its own store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	suites := []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"SaveMessages", testSaveMessages},
		{"History", testHistory},
		{"Since", testSince},
		{"Prune", testPrune},
		{"Concurrent", testConcurrent},
		{"Times", testTimes},
		{"Ping", testPing},
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) { s.run(t, open) })
	}
}

// base is a fixed, millisecond-aligned instant the suite counts from.
var base = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// ctx returns a context for one subtest, cancelled when it ends.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return c
}

// msg builds an unsaved message in room with a recognisable text.
func msg(room string, i int) store.Message {
	return store.Message{
		Room: room,
		From: "alice",
		Text: fmt.Sprintf("%s #%d", room, i),
		Sent: base.Add(time.Duration(i) * time.Second),
	}
}

// save stores msgs in one call, fails the test on error, and returns them
// with their ids, as History returns them (Prev, which only SaveMessages
// reports, cleared; testPrev checks it).
func save(t *testing.T, s store.Store, msgs ...store.Message) []store.Message {
	t.Helper()
	if err := s.SaveMessages(ctx(t), msgs); err != nil {
		t.Fatalf("SaveMessages(%d messages): %v", len(msgs), err)
	}
	for i := range msgs {
		msgs[i].Prev = 0
	}
	return msgs
}

// fill stores n messages in room, in batches of at most 100, and returns
// them with their ids.
func fill(t *testing.T, s store.Store, room string, n int) []store.Message {
	t.Helper()
	var all []store.Message
	for start := 0; start < n; start += 100 {
		var batch []store.Message
		for i := start; i < n && i < start+100; i++ {
			batch = append(batch, msg(room, i))
		}
		all = append(all, save(t, s, batch...)...)
	}
	return all
}

// ids lists the ids of msgs in order.
func ids(msgs []store.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// equalIDs reports whether a and b hold the same ids in the same order.
func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// history calls History and fails the test on error or on a nil slice.
func history(t *testing.T, s store.Store, room string, before int64, limit int) []store.Message {
	t.Helper()
	got, err := s.History(ctx(t), room, before, limit)
	if err != nil {
		t.Fatalf("History(%q, %d, %d): %v", room, before, limit, err)
	}
	if got == nil {
		t.Fatalf("History(%q, %d, %d) returned a nil slice", room, before, limit)
	}
	return got
}

// since calls Since and fails the test on error or on a nil slice.
func since(t *testing.T, s store.Store, room string, after int64, limit int) ([]store.Message, bool) {
	t.Helper()
	got, complete, err := s.Since(ctx(t), room, after, limit)
	if err != nil {
		t.Fatalf("Since(%q, %d, %d): %v", room, after, limit, err)
	}
	if got == nil {
		t.Fatalf("Since(%q, %d, %d) returned a nil slice", room, after, limit)
	}
	return got, complete
}

func testPing(t *testing.T, open Opener) {
	s := open(t)
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping on an open store: %v", err)
	}
}
