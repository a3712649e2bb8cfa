package main

import (
	"context"
	"regexp"
	"slices"
	"testing"

	"github.com/gorilla/websocket"
)

func TestConnectJoinsGeneralFirst(t *testing.T) {
	s := startServer(t)
	a := dial(t, s, "alice")
	var rj roomJoined
	expect(t, a, "room_joined", &rj)
	if rj.Room != "general" || !slices.Equal(rj.Members, []string{"alice"}) || rj.History == nil {
		t.Errorf("room_joined = %+v", rj)
	}
	// A second connection of the same user counts once.
	a2 := dial(t, s, "alice")
	expect(t, a2, "room_joined", &rj)
	if !slices.Equal(rj.Members, []string{"alice"}) {
		t.Errorf("members %v, want alice once", rj.Members)
	}
}

func TestMessagesReachTheirRoomOnly(t *testing.T) {
	s := startServer(t)
	conns := map[string]*websocket.Conn{}
	rooms := map[string]string{"alice": "blue", "bob": "blue", "carol": "red"}
	for _, u := range []string{"alice", "bob", "carol"} {
		c := dial(t, s, u)
		expect(t, c, "room_joined", nil)
		join(t, c, rooms[u])
		conns[u] = c
	}
	sentRE := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	tests := []struct {
		from, text, want string
		receivers        []string
	}{
		{"alice", "  hello blue  ", "hello blue", []string{"alice", "bob"}},
		{"carol", "hi red", "hi red", []string{"carol"}},
		{"bob", "again", "again", []string{"alice", "bob"}},
	}
	lastID := map[string]int64{}
	for _, tt := range tests {
		write(t, conns[tt.from], `{"type":"send_message","id":"r1","payload":{"message":"`+tt.text+`"}}`)
		var msgID int64
		for _, u := range tt.receivers {
			var m newMessage
			expect(t, conns[u], "new_message", &m)
			if m.From != tt.from || m.Message != tt.want || m.Room != rooms[tt.from] || !sentRE.MatchString(m.Sent) {
				t.Errorf("%s got %+v", u, m)
			}
			if m.ID <= lastID[m.Room] {
				t.Errorf("id %d does not increase after %d", m.ID, lastID[m.Room])
			}
			msgID = m.ID
		}
		lastID[rooms[tt.from]] = msgID
		var a ack
		expect(t, conns[tt.from], "ack", &a)
		if a.ID != "r1" || a.MessageID != msgID {
			t.Errorf("ack %+v, want id r1 and message_id %d", a, msgID)
		}
	}
	// Every connection's next event is the answer to its own request: no
	// stray message reached it.
	for u, c := range conns {
		write(t, c, `{"type":"nope","id":"x"}`)
		var e errorPayload
		expect(t, c, "error", &e)
		if e.Code != "unknown_event" || e.ID != "x" {
			t.Errorf("%s: error %+v", u, e)
		}
	}
}

func TestChangeRoomToSameRoomAnswersAgain(t *testing.T) {
	s := startServer(t)
	a := dial(t, s, "alice")
	expect(t, a, "room_joined", nil)
	join(t, a, "blue")
	rj := join(t, a, "blue")
	if !slices.Equal(rj.Members, []string{"alice"}) {
		t.Errorf("members %v", rj.Members)
	}
	write(t, a, `{"type":"change_room","id":"c1","payload":{"name":"blue"}}`)
	expect(t, a, "room_joined", nil)
	var k ack
	expect(t, a, "ack", &k)
	if k.ID != "c1" {
		t.Errorf("ack %+v", k)
	}
}

func TestBadInputGetsAnError(t *testing.T) {
	s := startServer(t)
	c := dial(t, s, "alice")
	expect(t, c, "room_joined", nil)
	tests := []struct {
		name, text, code string
	}{
		{"not JSON", `hello`, "bad_request"},
		{"no type", `{"payload":{}}`, "bad_request"},
		{"unknown type", `{"type":"dance"}`, "unknown_event"},
		{"empty message", `{"type":"send_message","payload":{"message":"   "}}`, "bad_request"},
		{"bad room", `{"type":"change_room","payload":{"name":"no spaces"}}`, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write(t, c, tt.text)
			var e errorPayload
			expect(t, c, "error", &e)
			if e.Code != tt.code {
				t.Errorf("code %q, want %q", e.Code, tt.code)
			}
		})
	}
}

func TestFullQueueEvictsOnlyThatClient(t *testing.T) {
	hub := NewHub()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); <-hub.done })
	go hub.Run(ctx)

	// The slow client's queue holds one event, and room_joined fills it.
	slow := &client{hub: hub, user: "slow", send: make(chan []byte, 1)}
	fast := &client{hub: hub, user: "fast", send: make(chan []byte, 8)}
	hub.Register(slow)
	hub.Register(fast)
	<-fast.send // room_joined
	hub.Submit(request{c: fast, ok: true, ev: inEvent{Type: "send_message", ID: "m1", Payload: []byte(`{"message":"hi"}`)}})
	hub.Submit(request{c: fast, ok: true, ev: inEvent{Type: "send_message", ID: "m2", Payload: []byte(`{"message":"again"}`)}})

	// The fast client's answers come after the hub handled both messages;
	// only then is the slow queue read, so it stayed full until then.
	for _, want := range []string{"new_message", "ack", "new_message", "ack"} {
		msg := <-fast.send
		if !regexp.MustCompile(`"type":"` + want + `"`).Match(msg) {
			t.Errorf("fast client got %s, want %s", msg, want)
		}
	}
	var got []string
	for msg := range slow.send {
		got = append(got, string(msg))
	}
	if len(got) != 1 || !regexp.MustCompile(`"type":"room_joined"`).MatchString(got[0]) {
		t.Errorf("slow client got %q, want room_joined only", got)
	}
	if slow.closeCode != websocket.CloseTryAgainLater {
		t.Errorf("close code %d, want %d", slow.closeCode, websocket.CloseTryAgainLater)
	}
}

func TestShutdownClosesWith1001(t *testing.T) {
	s := startServer(t)
	c := dial(t, s, "alice")
	expect(t, c, "room_joined", nil)
	s.stopHub()
	_, _, err := c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Errorf("read after shutdown: %v, want close 1001", err)
	}
	if s.hub.Register(&client{user: "late", send: make(chan []byte, 1)}) {
		t.Error("a stopped hub accepted a client")
	}
}
