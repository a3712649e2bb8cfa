package main

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestBadInput checks every row of the contract's bad-input table that
// leaves the connection open.
func TestBadInput(t *testing.T) {
	s := startServer(t, "-msg-rate", "1000", "-msg-burst", "1000")
	w := s.connect(t, s.newUser(t, "carol"))
	long := strings.Repeat("é", 1001)
	cases := []struct {
		name, frame, code string
	}{
		{"not JSON", `hello`, "bad_request"},
		{"broken JSON", `{"type":`, "bad_request"},
		{"JSON array", `[1,2]`, "bad_request"},
		{"no type", `{"payload":{}}`, "bad_request"},
		{"empty type", `{"type":""}`, "bad_request"},
		{"type not a string", `{"type":5}`, "bad_request"},
		{"unknown type", `{"type":"dance","id":"x"}`, "unknown_event"},
		{"message missing", `{"type":"send_message","payload":{},"id":"x"}`, "bad_request"},
		{"message not a string", `{"type":"send_message","payload":{"message":5},"id":"x"}`, "bad_request"},
		{"message empty", `{"type":"send_message","payload":{"message":""},"id":"x"}`, "bad_request"},
		{"message only white space", `{"type":"send_message","payload":{"message":" \n\t\u00a0 "},"id":"x"}`, "bad_request"},
		{"message too long", `{"type":"send_message","payload":{"message":"` + long + `"},"id":"x"}`, "bad_request"},
		{"payload not an object", `{"type":"send_message","payload":"hi","id":"x"}`, "bad_request"},
		{"room name missing", `{"type":"change_room","payload":{},"id":"x"}`, "bad_request"},
		{"room name bad characters", `{"type":"change_room","payload":{"name":"a b"},"id":"x"}`, "bad_request"},
		{"room name too long", `{"type":"change_room","payload":{"name":"` + strings.Repeat("r", 65) + `"},"id":"x"}`, "bad_request"},
		{"room name empty", `{"type":"change_room","payload":{"name":""},"id":"x"}`, "bad_request"},
		{"since not a number", `{"type":"change_room","payload":{"name":"a","since":"5"},"id":"x"}`, "bad_request"},
		{"since negative", `{"type":"change_room","payload":{"name":"a","since":-1},"id":"x"}`, "bad_request"},
		{"since zero", `{"type":"change_room","payload":{"name":"a","since":0},"id":"x"}`, "bad_request"},
		{"since fractional", `{"type":"change_room","payload":{"name":"a","since":1.5},"id":"x"}`, "bad_request"},
		{"since huge", `{"type":"change_room","payload":{"name":"a","since":1e300},"id":"x"}`, "bad_request"},
		{"history without limit", `{"type":"history","payload":{},"id":"x"}`, "bad_request"},
		{"history limit 0", `{"type":"history","payload":{"limit":0},"id":"x"}`, "bad_request"},
		{"history limit 101", `{"type":"history","payload":{"limit":101},"id":"x"}`, "bad_request"},
		{"history before not an id", `{"type":"history","payload":{"limit":5,"before":"x"},"id":"x"}`, "bad_request"},
		{"history before negative", `{"type":"history","payload":{"limit":5,"before":-3},"id":"x"}`, "bad_request"},
		{"request id an object", `{"type":"typing","id":{}}`, "bad_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w.t = t
			w.sendRaw(tc.frame)
			id := ""
			if strings.Contains(tc.frame, `"id":"x"`) {
				id = "x"
			}
			w.expectError(tc.code, id)
		})
	}
	w.t = t
	// Still open, and nothing was broadcast: the next message gets the next
	// ack and is the first new_message seen.
	w.send("send_message", map[string]any{"message": "still here"}, "ok")
	var m messagePayload
	w.expect("new_message").decode(t, &m)
	if m.Message != "still here" {
		t.Fatalf("first broadcast was %q", m.Message)
	}
	w.expect("ack")
}

func TestRateLimited(t *testing.T) {
	s := startServer(t, "-msg-rate", "1", "-msg-burst", "3")
	dave, obs := s.newUser(t, "dave"), s.newUser(t, "obs")
	w := s.connect(t, dave)
	o := s.connect(t, obs)
	for i := range 3 {
		w.say(fmt.Sprintf("m%d", i), fmt.Sprintf("m%d", i))
	}
	w.send("send_message", map[string]any{"message": "too many"}, "over")
	w.expectError("rate_limited", "over")
	if got := metricValue(t, s, "parley_rate_limited_total"); got != 1 {
		t.Fatalf("parley_rate_limited_total = %v", got)
	}
	// The dropped message was never broadcast: the observer sees m0..m2 and
	// then its own marker.
	o.send("send_message", map[string]any{"message": "marker"}, "")
	for _, want := range []string{"m0", "m1", "m2", "marker"} {
		var m messagePayload
		o.expect("new_message").decode(t, &m)
		if m.Message != want {
			t.Fatalf("observer got %q, want %q", m.Message, want)
		}
	}
}

func TestCloseCodes(t *testing.T) {
	s := startServer(t, "-read-limit", "1024")
	u := s.newUser(t, "erin")
	t.Run("binary frame gets 1003", func(t *testing.T) {
		w := s.connect(t, u)
		if err := w.conn.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"typing"}`)); err != nil {
			t.Fatal(err)
		}
		w.expectClose(websocket.CloseUnsupportedData)
	})
	t.Run("over the read limit gets 1009", func(t *testing.T) {
		w := s.connect(t, u)
		big := `{"type":"send_message","payload":{"message":"` + strings.Repeat("x", 200_000) + `"}}`
		if err := w.conn.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
			t.Fatal(err)
		}
		w.expectClose(websocket.CloseMessageTooBig)
	})
	t.Run("an unmasked frame gets 1002", func(t *testing.T) {
		w := s.connect(t, u)
		// Clients must mask every frame (RFC 6455 section 5.1).
		if _, err := w.conn.NetConn().Write([]byte{0x81, 2, 'h', 'i'}); err != nil {
			t.Fatal(err)
		}
		w.expectClose(websocket.CloseProtocolError)
	})
	t.Run("a close code no peer may send gets 1002", func(t *testing.T) {
		w := s.connect(t, u)
		if err := w.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1006, ""), time.Now().Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		w.expectClose(websocket.CloseProtocolError)
	})
	t.Run("a ping gets its pong", func(t *testing.T) {
		w := s.connect(t, u)
		pong := make(chan string, 1)
		w.conn.SetPongHandler(func(data string) error { pong <- data; return nil })
		if err := w.conn.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		// The pong handler runs inside a read: the history answer is
		// queued after the ping was read, and a pong goes ahead of queued
		// frames, so it has arrived by the time the answer has.
		w.send("history", map[string]any{"limit": 1}, "")
		w.expect("history")
		select {
		case got := <-pong:
			if got != "are you there" {
				t.Fatalf("pong %q", got)
			}
		default:
			t.Fatal("no pong before the history answer")
		}
	})
	t.Run("invalid UTF-8 gets 1007", func(t *testing.T) {
		w := s.connect(t, u)
		if err := w.conn.WriteMessage(websocket.TextMessage, []byte("{\"type\":\"send_message\",\"payload\":{\"message\":\"\xff\xfe\"}}")); err != nil {
			t.Fatal(err)
		}
		w.expectClose(websocket.CloseInvalidFramePayloadData)
	})
}

func TestSilentClientIsDropped(t *testing.T) {
	s := startServer(t, "-pong-wait", "1s")
	wu, mu := s.newUser(t, "watcher"), s.newUser(t, "mute")
	// The watcher must keep reading (and so answering pings) from here on.
	watcher := s.connect(t, wu)
	mute := s.connect(t, mu)
	watcher.expect("user_joined")
	// The mute client reads (so it sees pings) but never answers them.
	mute.conn.SetPingHandler(func(string) error { return nil })
	go func() {
		for {
			if _, _, err := mute.conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	var left struct{ Room, User string }
	watcher.expect("user_left").decode(t, &left)
	if left.User != "mute" {
		t.Fatalf("user_left %+v", left)
	}
}

func TestPresenceCountsUsers(t *testing.T) {
	s := startServer(t)
	obs := s.connect(t, s.newUser(t, "observer"))
	frank := s.newUser(t, "frank")
	f1 := s.connect(t, frank)
	var ev struct{ Room, User string }
	obs.expect("user_joined").decode(t, &ev)
	if ev.User != "frank" {
		t.Fatalf("user_joined %+v", ev)
	}
	f2 := s.connect(t, frank) // a second connection: no second user_joined
	var rj roomJoinedPayload
	f2.send("change_room", map[string]any{"name": "general"}, "same")
	f2.expect("room_joined").decode(t, &rj)
	if strings.Join(rj.Members, ",") != "frank,observer" {
		t.Fatalf("members %v", rj.Members)
	}
	f2.expect("ack")
	f2.conn.Close() // frank still has f1: no user_left
	// Typing from f1 reaches the observer: it is the next event it sees, so
	// no user_joined or user_left came before it.
	f1.send("typing", nil, "")
	n := obs.next()
	if n.Type != "typing" {
		t.Fatalf("observer got %s %s, want typing", n.Type, n.Payload)
	}
	// Throttled: a second typing within 2 s is dropped; the next event the
	// observer sees is the message.
	f1.send("typing", nil, "")
	f1.say("hi", "h")
	if n := obs.next(); n.Type != "new_message" {
		t.Fatalf("observer got %s %s, want new_message", n.Type, n.Payload)
	}
	// Leaving the room with the last connection sends user_left.
	f1.send("change_room", map[string]any{"name": "elsewhere"}, "")
	obs.expect("user_left").decode(t, &ev)
	if ev.User != "frank" || ev.Room != "general" {
		t.Fatalf("user_left %+v", ev)
	}
}

func TestRoomIsolationAndHistory(t *testing.T) {
	s := startServer(t)
	g := s.connect(t, s.newUser(t, "grace"))
	h := s.connect(t, s.newUser(t, "heidi"))
	g.expect("user_joined")
	h.send("change_room", map[string]any{"name": "side"}, "c")
	var rj roomJoinedPayload
	h.expect("room_joined").decode(t, &rj)
	if rj.Room != "side" || len(rj.History) != 0 || rj.History == nil {
		t.Fatalf("room_joined %+v", rj)
	}
	h.expect("ack")
	g.expect("user_left")
	h.say("only side", "s")
	g.say("only general", "g")
	// heidi's next new_message must be her own: general's never reached her.
	h.send("change_room", map[string]any{"name": "general"}, "back")
	h.expect("room_joined").decode(t, &rj)
	if len(rj.History) != 1 || rj.History[0].Message != "only general" {
		t.Fatalf("general history %+v", rj.History)
	}
}

func TestAbruptDisconnects(t *testing.T) {
	s := startServer(t)
	obs := s.connect(t, s.newUser(t, "ivan"))
	u := s.newUser(t, "judy")
	// 200 connections in the room at once, then all dropped together.
	var conns []*wsConn
	for range 200 {
		w := s.connect(t, u)
		w.send("change_room", map[string]any{"name": "churn"}, "")
		w.expect("room_joined")
		conns = append(conns, w)
	}
	if n := socketGoroutines(); n < 200 {
		t.Fatalf("%d socket goroutines with 201 connections open", n)
	}
	for _, w := range conns {
		// Drop the TCP connection without a close frame.
		w.conn.NetConn().Close()
	}
	// Everyone is gone from churn: the hub lists only general with ivan,
	// holds one connection, and only ivan's socket has goroutines left.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := fetchJSON(t, u.http, s.base+"/rooms")
		rooms, _ := body["rooms"].([]any)
		if len(rooms) == 1 && rooms[0].(map[string]any)["name"] == "general" && metricValue(t, s, "parley_connections") == 1 &&
			socketGoroutines() <= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the disconnects: rooms %v, %d socket goroutines", rooms, socketGoroutines())
		}
		// Pace the polling on a protocol round trip, not a sleep.
		obs.send("history", map[string]any{"limit": 1}, "")
		obs.expect("history")
	}
}

// socketGoroutines counts the goroutines running Parley's socket handler
// code (a connection's read loop and its writer, if one is running).
func socketGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "parley/handlers.") {
			count++
		}
	}
	return count
}
