package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testSettings are small limits for tests.
var testSettings = Settings{SendQueue: 64, ReadLimit: 4096, PongWait: 10 * time.Second}

// server is a running hub behind a real listener on 127.0.0.1.
type server struct {
	hub     *Hub
	srv     *httptest.Server
	stopHub context.CancelFunc
}

// startServer runs a hub and its routes on 127.0.0.1:0 until the test ends.
func startServer(t *testing.T) *server {
	t.Helper()
	hub := NewHub()
	ctx, cancel := context.WithCancel(context.Background())
	go hub.Run(ctx)
	srv := httptest.NewServer(NewMux(hub, testSettings))
	s := &server{hub: hub, srv: srv, stopHub: cancel}
	t.Cleanup(func() {
		cancel()
		<-hub.done
		srv.Close()
	})
	return s
}

// event is a decoded server event.
type event struct {
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// dial connects as user and returns the connection, closed at the end.
func dial(t *testing.T, s *server, user string) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/ws?user=" + user
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// next reads the next event; the deadline only keeps a broken test from
// hanging.
func next(t *testing.T, c *websocket.Conn) event {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return ev
}

// expect reads the next event, checks its type and decodes its payload.
func expect(t *testing.T, c *websocket.Conn, typ string, payload any) {
	t.Helper()
	ev := next(t, c)
	if ev.Type != typ {
		t.Fatalf("got %s %s, want %s", ev.Type, ev.Payload, typ)
	}
	if payload != nil {
		if err := json.Unmarshal(ev.Payload, payload); err != nil {
			t.Fatalf("payload of %s: %v", typ, err)
		}
	}
}

// write sends one text frame.
func write(t *testing.T, c *websocket.Conn, text string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// join moves c to room and consumes room_joined.
func join(t *testing.T, c *websocket.Conn, room string) roomJoined {
	t.Helper()
	write(t, c, `{"type":"change_room","payload":{"name":"`+room+`"}}`)
	var rj roomJoined
	expect(t, c, "room_joined", &rj)
	if rj.Room != room {
		t.Fatalf("joined %q, want %q", rj.Room, room)
	}
	return rj
}
