package load

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// pollDialer is a Dialer for the test server at u, reading with pollers.
func pollDialer(t *testing.T, u *url.URL) *Dialer {
	t.Helper()
	base := strings.Replace(u.String(), "ws://", "http://", 1)
	base = strings.TrimSuffix(base, "/ws")
	d, err := NewDialer(DialConfig{Target: TargetPlain, BaseURL: base, Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.polls) == 0 {
		t.Fatal("no poller on Linux")
	}
	return d
}

// dialPolled dials the test server at u as ann with a polling dialer
// (closed at the end of the test) and returns the connection with a
// context bounding the test's waits.
func dialPolled(t *testing.T, u *url.URL) (context.Context, *Conn) {
	t.Helper()
	d := pollDialer(t, u)
	t.Cleanup(d.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	c, err := d.Dial(ctx, Session{User: "ann"}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.poll == nil {
		t.Fatal("the connection is not polled")
	}
	return ctx, c
}

// TestPolledConnection: a polled connection gets what the server sends,
// long frames included, ends with the server's close, and is closed
// cleanly; the dialer's pollers stop.
func TestPolledConnection(t *testing.T) {
	long := strings.Repeat("l", 70000)
	release := make(chan struct{})
	u := wsServer(t, func(ws *websocket.Conn) {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"room_joined","payload":{"room":"general"}}`))
		<-release
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"room_joined","payload":{"room":"`+long+`"}}`))
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"room_joined","payload":{"room":"last"}}`))
		_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "bye"))
		_, _, _ = ws.ReadMessage()
	})
	ctx, c := dialPolled(t, u)
	if err := c.WaitRoom(ctx, "general"); err != nil {
		t.Fatal(err)
	}
	close(release)
	for _, room := range []string{long, "last"} {
		if err := c.WaitRoom(ctx, room); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		t.Fatal("the connection did not end at the server's close")
	}
	var ce *CloseError
	if !errors.As(c.err, &ce) || ce.Code != 4000 {
		t.Fatalf("ended with %v, want the server's close 4000", c.err)
	}
	if !c.Dropped() {
		t.Fatal("a connection the server closed is not reported dropped")
	}
	c.Close()
}

// TestPollerLetsGo: Close ends a polled connection the server keeps open,
// and a dialer closed with a connection still open ends it too; closing
// the dialer again, or the connection afterwards, is harmless.
func TestPollerLetsGo(t *testing.T) {
	u := wsServer(t, func(ws *websocket.Conn) {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	})
	d := pollDialer(t, u)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := d.Dial(ctx, Session{User: "ann"}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.Dial(ctx, Session{User: "bob"}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if a.Dropped() {
		t.Fatal("a connection we closed is reported dropped")
	}
	d.Close()
	select {
	case <-b.done:
	case <-ctx.Done():
		t.Fatal("stopping the poller did not end its connection")
	}
	if !errors.Is(b.err, errPollerStopped) {
		t.Fatalf("ended with %v", b.err)
	}
	d.Close() // again: nothing happens
	b.Close() // after the poller stopped: closes the socket, writes nowhere else
}

// TestPolledFramesWithTheAnswer: events the server writes in the same
// write as its 101 are taken before the poller reads the socket, and what
// follows is read by the poller.
func TestPolledFramesWithTheAnswer(t *testing.T) {
	joined := func(room string) []byte {
		msg := `{"type":"room_joined","payload":{"room":"` + room + `"}}`
		return append([]byte{0x81, byte(len(msg))}, msg...)
	}
	more := make(chan struct{})
	u, done := rawServer(t, func(nc net.Conn, req *http.Request) {
		ans := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + acceptFor(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		_, _ = nc.Write(append(append([]byte(ans), joined("general")...), joined("first")...))
		<-more
		_, _ = nc.Write(joined("later"))
		_, _ = nc.Read(make([]byte, 64)) // the client's close frame
	})
	ctx, c := dialPolled(t, u)
	for _, room := range []string{"general", "first"} {
		if err := c.WaitRoom(ctx, room); err != nil {
			t.Fatal(err)
		}
	}
	close(more)
	if err := c.WaitRoom(ctx, "later"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	<-done
}
