package main

import (
	"fmt"
	"testing"
)

// fill posts n messages to w's current room and returns their ids.
func fill(t *testing.T, w *wsConn, n int, prefix string) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range n {
		ids[i] = w.say(fmt.Sprintf("%s%d", prefix, i), fmt.Sprint(i))
	}
	return ids
}

func TestScrollbackPagesToTheFirstMessage(t *testing.T) {
	s := startServer(t, "-msg-rate", "1000", "-msg-burst", "1000")
	w := s.connect(t, s.newUser(t, "kim"))
	w.send("change_room", map[string]any{"name": "archive"}, "")
	w.expect("room_joined")
	ids := fill(t, w, 120, "m")

	// Joining again shows the last 50, oldest first.
	other := s.connect(t, s.newUser(t, "lee"))
	other.send("change_room", map[string]any{"name": "archive"}, "")
	var rj roomJoinedPayload
	other.expect("room_joined").decode(t, &rj)
	if len(rj.History) != 50 || rj.History[0].ID != ids[70] || rj.History[49].ID != ids[119] {
		t.Fatalf("room_joined history: %d messages, first %v", len(rj.History), rj.History[0])
	}
	if rj.Recovered != nil {
		t.Fatal("recovered is only for change_room with since")
	}

	// Paging back with before walks to the first message without gaps or
	// duplicates.
	var seen []int64
	before := int64(0)
	for {
		payload := map[string]any{"limit": 50}
		if before > 0 {
			payload["before"] = before
		}
		other.send("history", payload, "p")
		var page struct {
			Room     string           `json:"room"`
			Messages []messagePayload `json:"messages"`
		}
		other.expect("history").decode(t, &page)
		other.expect("ack")
		if page.Room != "archive" || page.Messages == nil {
			t.Fatalf("page %+v", page)
		}
		if len(page.Messages) == 0 {
			break
		}
		for i := 1; i < len(page.Messages); i++ {
			if page.Messages[i].ID <= page.Messages[i-1].ID {
				t.Fatal("a page is not oldest first")
			}
		}
		chunk := make([]int64, 0, len(page.Messages))
		for _, m := range page.Messages {
			chunk = append(chunk, m.ID)
		}
		seen = append(chunk, seen...)
		before = page.Messages[0].ID
	}
	if fmt.Sprint(seen) != fmt.Sprint(ids) {
		t.Fatalf("paged ids %v\nwant %v", seen, ids)
	}
}

func TestHistoryOfAnEmptyRoom(t *testing.T) {
	s := startServer(t)
	w := s.connect(t, s.newUser(t, "mia"))
	w.send("change_room", map[string]any{"name": "quiet"}, "")
	w.expect("room_joined")
	w.send("history", map[string]any{"limit": 10, "before": 12345}, "")
	ev := w.expect("history")
	if string(ev.Payload) != `{"room":"quiet","messages":[]}` {
		t.Fatalf("history payload %s", ev.Payload)
	}
}

func TestRecoveryAfterReconnect(t *testing.T) {
	s := startServer(t, "-msg-rate", "1000", "-msg-burst", "1000")
	nina, omar := s.newUser(t, "nina"), s.newUser(t, "omar")
	n := s.connect(t, nina)
	o := s.connect(t, omar)
	n.expect("user_joined")
	fill(t, o, 3, "before")
	var lastSeen int64
	for range 3 {
		var m messagePayload
		n.expect("new_message").decode(t, &m)
		lastSeen = m.ID
	}

	// Nina's connection drops; Omar keeps talking.
	n.conn.NetConn().Close()
	o.expect("user_left")
	missed := fill(t, o, 7, "missed")

	// Nina comes back with a fresh ticket and asks for what she missed.
	n2 := s.connect(t, nina)
	n2.send("change_room", map[string]any{"name": "general", "since": lastSeen}, "r")
	var rj roomJoinedPayload
	n2.expect("room_joined").decode(t, &rj)
	if rj.Recovered == nil || !*rj.Recovered {
		t.Fatalf("recovered = %v", rj.Recovered)
	}
	var got []int64
	for _, m := range rj.History {
		got = append(got, m.ID)
	}
	if fmt.Sprint(got) != fmt.Sprint(missed) {
		t.Fatalf("recovered %v, want %v", got, missed)
	}
	n2.expect("ack")
	// Live traffic continues after the recovered messages, once.
	next := o.say("after", "a")
	var m messagePayload
	n2.expect("new_message").decode(t, &m)
	if m.ID != next {
		t.Fatalf("next live message %d, want %d", m.ID, next)
	}
}

func TestRecoveryIsCappedAt500(t *testing.T) {
	s := startServer(t, "-msg-rate", "100000", "-msg-burst", "100000")
	w := s.connect(t, s.newUser(t, "pat"))
	first := w.say("first", "f")
	ids := fill(t, w, 520, "x")
	w.send("change_room", map[string]any{"name": "general", "since": first}, "")
	var rj roomJoinedPayload
	w.expectSkipping("room_joined", "new_message").decode(t, &rj)
	if rj.Recovered == nil || *rj.Recovered {
		t.Fatalf("recovered = %v, want false", rj.Recovered)
	}
	if len(rj.History) != 500 || rj.History[0].ID != ids[20] || rj.History[499].ID != ids[519] {
		t.Fatalf("got %d messages from %d", len(rj.History), rj.History[0].ID)
	}
}

func TestSinceInTheFutureIsBadRequest(t *testing.T) {
	s := startServer(t)
	w := s.connect(t, s.newUser(t, "quinn"))
	id := w.say("hello", "h")
	w.send("change_room", map[string]any{"name": "general", "since": id + 1000}, "s")
	w.expectError("bad_request", "s")
	w.send("change_room", map[string]any{"name": "general", "since": id}, "ok")
	var rj roomJoinedPayload
	w.expect("room_joined").decode(t, &rj)
	if rj.Recovered == nil || !*rj.Recovered || len(rj.History) != 0 {
		t.Fatalf("room_joined %+v", rj)
	}
}
