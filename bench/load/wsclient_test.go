package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/internal/wsframe"
)

// wsServer serves one WebSocket per request with gorilla/websocket (an
// independent implementation) and runs script on it.
func wsServer(t *testing.T, script func(ws *websocket.Conn)) *url.URL {
	t.Helper()
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("refuse") != "" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		script(ws)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(strings.Replace(srv.URL, "http://", "ws://", 1) + "/ws")
	return u
}

func dialTest(t *testing.T, u *url.URL) *wsConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wsDial(ctx, &net.Dialer{}, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.nc.Close() })
	return c
}

// rawServer accepts one connection on 127.0.0.1, reads its upgrade request
// and hands both to answer; done is closed when answer has returned and the
// connection is closed.
func rawServer(t *testing.T, answer func(nc net.Conn, req *http.Request)) (u *url.URL, done <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		req, err := http.ReadRequest(bufio.NewReader(nc))
		if err != nil {
			return
		}
		answer(nc, req)
	}()
	return &url.URL{Scheme: "ws", Host: ln.Addr().String(), Path: "/ws"}, ended
}

// TestWSClientFrames: messages of each length encoding and a ping in
// between arrive whole and in order, and the ping is answered; what the client sends
// arrives masked and intact; a close frame ends next with its code.
func TestWSClientFrames(t *testing.T) {
	long := bytes.Repeat([]byte("l"), 70000) // a 64-bit length
	mid := bytes.Repeat([]byte("m"), 300)    // a 16-bit length
	got := make(chan string, 4)
	pongs := make(chan string, 1)
	u := wsServer(t, func(ws *websocket.Conn) {
		ws.SetPongHandler(func(p string) error { pongs <- p; return nil })
		_ = ws.WriteMessage(websocket.TextMessage, []byte("short"))
		_ = ws.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second))
		_ = ws.WriteMessage(websocket.TextMessage, mid)
		_ = ws.WriteMessage(websocket.TextMessage, long)
		for range 2 { // the client's messages; reading also runs the pong handler
			_, p, err := ws.ReadMessage()
			if err != nil {
				return
			}
			got <- string(p)
		}
		_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "logged out"))
		_, _, _ = ws.ReadMessage() // the client's answer to the close
	})
	c := dialTest(t, u)
	for _, want := range [][]byte{[]byte("short"), mid, long} {
		msg, err := c.next()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(msg, want) {
			t.Fatalf("got %d bytes %.20q…, want %d bytes %.20q…", len(msg), msg, len(want), want)
		}
	}
	for _, m := range []string{`{"type":"change_room"}`, strings.Repeat("x", 200)} {
		if err := c.writeFrame(wsframe.OpText, []byte(m), time.Now().Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		if g := receive(t, got, "the server reading a message"); g != m {
			t.Fatalf("server read %q, want %q", g, m)
		}
	}
	if p := receive(t, pongs, "the pong"); p != "are you there" {
		t.Fatalf("pong carried %q", p)
	}
	_, err := c.next()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != "logged out" {
		t.Fatalf("after the close frame: %v", err)
	}
}

// TestWSClientFramesWithTheAnswer: frames the server sends together with
// its 101 are not lost to the handshake, and a message in fragments, with
// a ping between them, comes out whole.
func TestWSClientFramesWithTheAnswer(t *testing.T) {
	u, done := rawServer(t, func(nc net.Conn, req *http.Request) {
		ans := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + acceptFor(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		frames := []byte{0x81, 5, 'h', 'e', 'l', 'l', 'o', 0x81, 2, 'h', 'i',
			0x01, 4, 'f', 'r', 'a', 'g', 0x89, 1, 'p', 0x00, 4, 'm', 'e', 'n', 't', 0x80, 2, 'e', 'd'}
		_, _ = nc.Write(append([]byte(ans), frames...))
		_, _ = nc.Read(make([]byte, 1)) // until the client closes
	})
	c := dialTest(t, u)
	for _, want := range []string{"hello", "hi", "fragmented"} {
		msg, err := c.next()
		if err != nil || string(msg) != want {
			t.Fatalf("next = %q, %v; want %q", msg, err, want)
		}
	}
	c.nc.Close()
	<-done
}

// TestWSClientRefused: a refused upgrade and a wrong accept key are errors
// that say what happened.
func TestWSClientRefused(t *testing.T) {
	u := wsServer(t, func(*websocket.Conn) {})
	u.RawQuery = "refuse=1"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := wsDial(ctx, &net.Dialer{}, u)
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusForbidden {
		t.Fatalf("refused upgrade: %v", err)
	}

	raw, done := rawServer(t, func(nc net.Conn, _ *http.Request) {
		_, _ = nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IGl0\r\n\r\n"))
	})
	_, err = wsDial(ctx, &net.Dialer{}, raw)
	if err == nil || !strings.Contains(err.Error(), "Sec-WebSocket-Accept") {
		t.Fatalf("wrong accept key: %v", err)
	}
	<-done
}

// receive waits for one value from ch, or fails the test after 5 seconds.
func receive(t *testing.T, ch <-chan string, what string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s within 5 seconds", what)
		return ""
	}
}

// TestWSClientSmallBuffer: with a buffer far smaller than the frames, the
// reader moves what is left of it to the front and grows it, and every
// message still comes out whole and in order.
func TestWSClientSmallBuffer(t *testing.T) {
	var in []byte
	var want [][]byte
	for i, n := range []int{3, 15, 16, 17, 125, 126, 200, 5, 65535, 65536, 70000, 1, 40} {
		msg := bytes.Repeat([]byte{byte('a' + i)}, n)
		msg[0], msg[n-1] = '<', '>'
		want = append(want, msg)
		in = append(in, 0x81)
		switch {
		case n < 126:
			in = append(in, byte(n))
		case n <= 0xffff:
			in = append(in, 126, byte(n>>8), byte(n))
		default:
			in = append(in, 127, 0, 0, 0, 0, 0, byte(n>>16), byte(n>>8), byte(n))
		}
		in = append(in, msg...)
	}
	c := &wsConn{nc: &byteConn{r: bytes.NewReader(in)}, buf: make([]byte, 16)}
	for i, w := range want {
		msg, err := c.next()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(msg, w) {
			t.Fatalf("message %d: %d bytes %.10q…, want %d bytes %.10q…", i, len(msg), msg, len(w), w)
		}
	}
	if _, err := c.next(); err == nil {
		t.Fatal("a message after the end of the input")
	}
}

// byteConn is a net.Conn that reads from a fixed input and discards writes.
type byteConn struct {
	net.Conn
	r *bytes.Reader
}

func (c *byteConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *byteConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *byteConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzWSClient feeds the client's frame reader arbitrary bytes: it must
// end with an error, never panic, and never return more than it was given.
func FuzzWSClient(f *testing.F) {
	f.Add([]byte{0x81, 5, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0x01, 4, 'f', 'r', 'a', 'g', 0x89, 1, 'p', 0x80, 2, 'e', 'd', 0x88, 2, 3, 232})
	f.Add([]byte{0x82, 126, 0, 3, 'a', 'b', 'c', 0x8A, 0})
	f.Add([]byte{0x81, 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 'x'})
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &wsConn{nc: &byteConn{r: bytes.NewReader(in)}, buf: make([]byte, 64)}
		for range len(in) + 1 { // each message consumes at least two bytes
			msg, err := c.next()
			if err != nil {
				return
			}
			if len(msg) > len(in) {
				t.Fatalf("a %d-byte message from %d bytes of input", len(msg), len(in))
			}
		}
		t.Fatal("next did not end at the end of its input")
	})
}
