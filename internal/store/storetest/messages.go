package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/store"
)

func testSaveMessages(t *testing.T, open Opener) {
	t.Run("fills ids in order", func(t *testing.T) {
		s := open(t)
		first := save(t, s, msg("a", 0), msg("b", 1), msg("a", 2))
		second := save(t, s, msg("a", 3))
		all := append(append([]store.Message{}, first...), second...)
		for i, m := range all {
			if m.ID <= 0 {
				t.Fatalf("message %d has id %d, want positive", i, m.ID)
			}
			if i > 0 && m.ID <= all[i-1].ID {
				t.Fatalf("ids not increasing: %v", ids(all))
			}
		}
		got := history(t, s, "a", 0, 10)
		want := []store.Message{all[0], all[2], all[3]}
		if !equalIDs(ids(got), ids(want)) {
			t.Fatalf("History(a) ids = %v, want %v", ids(got), ids(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("History(a)[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
	})

	t.Run("prev chains each room", func(t *testing.T) {
		s := open(t)
		var all []store.Message
		for _, batch := range [][]store.Message{
			{msg("a", 0), msg("b", 1), msg("a", 2)},
			{msg("a", 3)},
			{msg("b", 4), msg("c", 5), msg("a", 6), msg("b", 7)},
		} {
			if err := s.SaveMessages(ctx(t), batch); err != nil {
				t.Fatalf("SaveMessages: %v", err)
			}
			all = append(all, batch...)
		}
		last := map[string]int64{}
		for _, m := range all {
			if m.Prev != last[m.Room] {
				t.Errorf("message %d in %q has Prev %d, want %d", m.ID, m.Room, m.Prev, last[m.Room])
			}
			last[m.Room] = m.ID
		}
	})

	t.Run("empty batch", func(t *testing.T) {
		s := open(t)
		if err := s.SaveMessages(ctx(t), nil); err != nil {
			t.Fatalf("SaveMessages(nil): %v", err)
		}
		if got := history(t, s, "a", 0, 10); len(got) != 0 {
			t.Fatalf("History after an empty batch = %v", got)
		}
	})

	invalid := []struct {
		name string
		bad  store.Message
	}{
		{"empty room", store.Message{Room: "", From: "alice", Text: "x", Sent: base}},
		{"empty sender", store.Message{Room: "a", From: "", Text: "x", Sent: base}},
	}
	for _, tc := range invalid {
		t.Run("all or nothing/"+tc.name, func(t *testing.T) {
			s := open(t)
			before := save(t, s, msg("a", 0))
			batch := []store.Message{msg("a", 1), msg("b", 2), tc.bad, msg("a", 3)}
			if err := s.SaveMessages(ctx(t), batch); err == nil {
				t.Fatal("SaveMessages with an invalid message succeeded")
			}
			for _, room := range []string{"a", "b", ""} {
				got := history(t, s, room, 0, 10)
				want := []int64{}
				if room == "a" {
					want = ids(before)
				}
				if !equalIDs(ids(got), want) {
					t.Errorf("History(%q) after a failed batch = %v, want %v", room, ids(got), want)
				}
			}
			// The store still works after a failed batch.
			after := save(t, s, msg("a", 4))
			if after[0].ID <= before[0].ID {
				t.Fatalf("id after a failed batch %d, want > %d", after[0].ID, before[0].ID)
			}
		})
	}

	t.Run("cancelled context", func(t *testing.T) {
		s := open(t)
		c, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.SaveMessages(c, []store.Message{msg("a", 0), msg("a", 1)}); err == nil {
			t.Fatal("SaveMessages with a cancelled context succeeded")
		}
		if got := history(t, s, "a", 0, 10); len(got) != 0 {
			t.Fatalf("History after a cancelled save = %v", ids(got))
		}
	})

	t.Run("ids never reused", func(t *testing.T) {
		s := open(t)
		old := fill(t, s, "a", 5)
		n, err := s.Prune(ctx(t), base.Add(time.Hour), 0)
		if err != nil || n != 5 {
			t.Fatalf("Prune = %d, %v; want 5", n, err)
		}
		fresh := save(t, s, msg("a", 9))
		if fresh[0].ID <= old[len(old)-1].ID {
			t.Fatalf("id after deleting every message = %d, want > %d", fresh[0].ID, old[len(old)-1].ID)
		}
	})
}

func testHistory(t *testing.T, open Opener) {
	s := open(t)
	// Interleave two rooms so that a room's ids have gaps.
	var a, b []store.Message
	for i := 0; i < 137; i++ {
		batch := save(t, s, msg("a", i), msg("b", i))
		a, b = append(a, batch[0]), append(b, batch[1])
	}

	pages := []struct {
		room  string
		want  []store.Message
		limit int
	}{
		{"a", a, 10},
		{"b", b, 25},
		{"a", a, 137},
		{"b", b, 1},
		{"a", a, 500},
	}
	for _, tc := range pages {
		t.Run(tc.room+"/pages", func(t *testing.T) {
			var got []int64
			before := int64(0)
			for {
				page := history(t, s, tc.room, before, tc.limit)
				if len(page) == 0 {
					break
				}
				if len(page) > tc.limit {
					t.Fatalf("page of %d messages, limit %d", len(page), tc.limit)
				}
				for i, m := range page {
					if m.Room != tc.room {
						t.Fatalf("message %d of room %q in a page of %q", m.ID, m.Room, tc.room)
					}
					if i > 0 && m.ID <= page[i-1].ID {
						t.Fatalf("page not oldest first: %v", ids(page))
					}
				}
				got = append(ids(page), got...)
				before = page[0].ID
			}
			if !equalIDs(got, ids(tc.want)) {
				t.Fatalf("paging %q back to its start gave %d ids, want %d (%v...)", tc.room, len(got), len(tc.want), got[:min(len(got), 5)])
			}
		})
	}

	cases := []struct {
		name   string
		room   string
		before int64
		limit  int
		want   []store.Message
	}{
		{"newest", "a", 0, 3, a[134:]},
		{"negative before is newest", "a", -7, 3, a[134:]},
		{"before middle", "a", a[50].ID, 4, a[46:50]},
		{"before an id of another room", "a", b[50].ID, 2, a[49:51]},
		{"before first", "a", a[0].ID, 10, nil},
		{"before beyond newest", "b", b[136].ID + 1000, 2, b[135:]},
		{"fewer than limit", "b", b[2].ID, 10, b[:2]},
		{"zero limit", "a", 0, 0, nil},
		{"empty room", "nobody-here", 0, 50, nil},
		{"room names are exact", "A", 0, 50, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := history(t, s, tc.room, tc.before, tc.limit)
			if !equalIDs(ids(got), ids(tc.want)) {
				t.Fatalf("History(%q, %d, %d) = %v, want %v", tc.room, tc.before, tc.limit, ids(got), ids(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("message %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func testSince(t *testing.T, open Opener) {
	s := open(t)
	var a, b []store.Message
	for i := 0; i < 20; i++ {
		batch := save(t, s, msg("a", i), msg("b", i))
		a, b = append(a, batch[0]), append(b, batch[1])
	}
	cases := []struct {
		name     string
		room     string
		since    int64
		limit    int
		want     []store.Message
		complete bool
	}{
		{"all of them", "a", 0, 100, a, true},
		{"exactly limit", "a", 0, 20, a, true},
		{"one too many", "a", 0, 19, a[1:], false},
		{"newest few", "a", 0, 3, a[17:], false},
		{"after middle", "a", a[9].ID, 100, a[10:], true},
		{"after middle, limited", "a", a[9].ID, 4, a[16:], false},
		{"after middle, exact", "a", a[9].ID, 10, a[10:], true},
		{"after an id of another room", "b", a[9].ID, 100, b[9:], true},
		{"after newest", "a", a[19].ID, 10, nil, true},
		{"far beyond newest", "b", b[19].ID + 1000, 10, nil, true},
		{"negative since", "b", -1, 100, b, true},
		{"empty room", "nobody-here", 0, 10, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, complete := since(t, s, tc.room, tc.since, tc.limit)
			if !equalIDs(ids(got), ids(tc.want)) || complete != tc.complete {
				t.Fatalf("Since(%q, %d, %d) = %v, %v; want %v, %v", tc.room, tc.since, tc.limit, ids(got), complete, ids(tc.want), tc.complete)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("message %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
	t.Run("zero limit", func(t *testing.T) {
		got, complete := since(t, s, "a", 0, 0)
		if len(got) != 0 || complete {
			t.Fatalf("Since with limit 0 on a room with messages = %v, %v; want [], false", ids(got), complete)
		}
	})
}

func testTimes(t *testing.T, open Opener) {
	s := open(t)
	east := time.FixedZone("UTC+5", 5*3600)
	cases := []struct {
		name string
		sent time.Time
		want time.Time
	}{
		{"utc millisecond", base.Add(123 * time.Millisecond), base.Add(123 * time.Millisecond)},
		{"sub-millisecond truncated", base.Add(123456789 * time.Nanosecond), base.Add(123 * time.Millisecond)},
		{"other zone", time.Date(2024, 3, 1, 17, 0, 0, 999_000_000, east), base.Add(999 * time.Millisecond)},
		{"far future", time.Date(2199, 12, 31, 23, 59, 59, 1_000_000, time.UTC), time.Date(2199, 12, 31, 23, 59, 59, 1_000_000, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			room := "times-" + tc.name
			save(t, s, store.Message{Room: room, From: "alice", Text: "hi", Sent: tc.sent})
			got := history(t, s, room, 0, 1)
			if len(got) != 1 {
				t.Fatalf("History = %d messages, want 1", len(got))
			}
			if !got[0].Sent.Equal(tc.want) || got[0].Sent.Location() != time.UTC {
				t.Fatalf("Sent = %v (%v), want %v in UTC", got[0].Sent, got[0].Sent.Location(), tc.want)
			}
			if got[0].Sent != tc.want {
				t.Fatalf("Sent = %#v, want exactly %#v", got[0].Sent, tc.want)
			}
		})
	}
}
