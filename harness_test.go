package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// testServer is a real Parley started by run() on 127.0.0.1:0.
type testServer struct {
	t      *testing.T
	addr   string
	base   string
	cancel context.CancelFunc
	exit   chan int
	logs   *syncBuffer
}

// startServer runs Parley with a fresh data folder and the given extra
// flags, and stops it (expecting exit code 0) when the test ends.
func startServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	return startServerIn(t, t.TempDir(), args...)
}

func startServerIn(t *testing.T, dataDir string, args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{t: t, cancel: cancel, exit: make(chan int, 1), logs: &syncBuffer{}}
	ready := make(chan string, 1)
	full := append([]string{"-addr", "127.0.0.1:0", "-data", dataDir, "-login-rate", "1000"}, args...)
	go func() {
		s.exit <- run(ctx, full, func(string) string { return "" }, s.logs, func(a string) { ready <- a })
	}()
	select {
	case s.addr = <-ready:
	case code := <-s.exit:
		cancel()
		t.Fatalf("server exited with %d at start: %s", code, s.logs.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start")
	}
	s.base = "http://" + s.addr
	t.Cleanup(func() { s.stop() })
	return s
}

// stop shuts the server down gracefully and checks it exits with 0.
func (s *testServer) stop() {
	s.cancel()
	select {
	case code, ok := <-s.exit:
		if ok && code != 0 {
			s.t.Errorf("server exited with %d: %s", code, s.logs.String())
		}
		close(s.exit)
	case <-time.After(30 * time.Second):
		s.t.Error("server did not stop")
	}
}

// user is a registered, logged-in account with its own cookie jar.
type user struct {
	name     string
	http     *http.Client
	ticket   string    // from /login, until connect uses it
	ticketAt time.Time // when /login issued it
}

func newHTTPClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// postJSON sends body as JSON and returns the status and decoded response.
func postJSON(t *testing.T, c *http.Client, url string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(http.MethodPost, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out)
	}
	return resp.StatusCode, out
}

// newUser registers and logs in name (password "correct horse").
func (s *testServer) newUser(t *testing.T, name string) *user {
	t.Helper()
	u := &user{name: name, http: newHTTPClient(t)}
	if code, body := postJSON(t, u.http, s.base+"/register", map[string]string{"username": name, "password": "correct horse"}); code != http.StatusCreated {
		t.Fatalf("register %s: %d %v", name, code, body)
	}
	code, body := postJSON(t, u.http, s.base+"/login", map[string]string{"username": name, "password": "correct horse"})
	if code != http.StatusOK {
		t.Fatalf("login %s: %d %v", name, code, body)
	}
	u.ticket, u.ticketAt = body["ticket"].(string), time.Now()
	return u
}

// freshTicket asks /ticket for a new one with the user's session.
func (s *testServer) freshTicket(t *testing.T, u *user) string {
	t.Helper()
	code, body := postJSON(t, u.http, s.base+"/ticket", nil)
	if code != http.StatusOK {
		t.Fatalf("ticket for %s: %d %v", u.name, code, body)
	}
	return body["ticket"].(string)
}

// wsConn is a test WebSocket client.
type wsConn struct {
	t    *testing.T
	conn *websocket.Conn
}

// event is a decoded server event.
type event struct {
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

func (e event) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(e.Payload, v); err != nil {
		t.Fatalf("decode %s payload %s: %v", e.Type, e.Payload, err)
	}
}

// dialRaw opens /ws with a ticket and optional Origin, returning the HTTP
// response for failed upgrades.
func (s *testServer) dialRaw(ticket, origin string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	return d.Dial("ws://"+s.addr+"/ws?ticket="+ticket, h)
}

// connect dials with the user's current ticket (or a fresh one) and reads
// the first event, which must be room_joined for general.
func (s *testServer) connect(t *testing.T, u *user) *wsConn {
	t.Helper()
	ticket := u.ticket
	u.ticket = ""
	// The login's ticket lives 5 s: on a slow machine other set-up may
	// have taken longer than that.
	if ticket == "" || time.Since(u.ticketAt) > 2*time.Second {
		ticket = s.freshTicket(t, u)
	}
	c, resp, err := s.dialRaw(ticket, "")
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial as %s: %v (status %d)", u.name, err, status)
	}
	w := &wsConn{t: t, conn: c}
	t.Cleanup(func() { c.Close() })
	var rj roomJoinedPayload
	w.expect("room_joined").decode(t, &rj)
	if rj.Room != "general" {
		t.Fatalf("first room is %q, want general", rj.Room)
	}
	return w
}

type messagePayload struct {
	ID      int64  `json:"id"`
	Room    string `json:"room"`
	From    string `json:"from"`
	Message string `json:"message"`
	Sent    string `json:"sent"`
}

type roomJoinedPayload struct {
	Room      string           `json:"room"`
	Members   []string         `json:"members"`
	History   []messagePayload `json:"history"`
	Recovered *bool            `json:"recovered"`
}

type errorPayload struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	ID      json.RawMessage `json:"id"`
}

// send writes one JSON event.
func (w *wsConn) send(typ string, payload any, id string) {
	w.t.Helper()
	ev := map[string]any{"type": typ}
	if payload != nil {
		ev["payload"] = payload
	}
	if id != "" {
		ev["id"] = id
	}
	if err := w.conn.WriteJSON(ev); err != nil {
		w.t.Fatalf("send %s: %v", typ, err)
	}
}

// sendRaw writes one text frame as is.
func (w *wsConn) sendRaw(data string) {
	w.t.Helper()
	if err := w.conn.WriteMessage(websocket.TextMessage, []byte(data)); err != nil {
		w.t.Fatalf("send: %v", err)
	}
}

// next reads the next event, failing after 10 s.
func (w *wsConn) next() event {
	w.t.Helper()
	_ = w.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := w.conn.ReadMessage()
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil {
		w.t.Fatalf("server sent non-JSON %q: %v", data, err)
	}
	return ev
}

// expect reads events until one of type typ, skipping presence and typing
// noise, and fails on anything else.
func (w *wsConn) expect(typ string) event {
	w.t.Helper()
	for {
		ev := w.next()
		if ev.Type == typ {
			return ev
		}
		switch ev.Type {
		case "user_joined", "user_left", "typing":
			continue
		}
		w.t.Fatalf("got %s %s, want %s", ev.Type, ev.Payload, typ)
	}
}

// expectError reads events until an error and checks its code and id.
func (w *wsConn) expectError(code, id string) {
	w.t.Helper()
	var p errorPayload
	w.expect("error").decode(w.t, &p)
	if p.Code != code {
		w.t.Fatalf("error code %q (%s), want %q", p.Code, p.Message, code)
	}
	if id != "" && string(p.ID) != `"`+id+`"` {
		w.t.Fatalf("error id %s, want %q", p.ID, id)
	}
}

// say sends a message and waits for its ack, returning the message id.
func (w *wsConn) say(text, id string) int64 {
	w.t.Helper()
	w.send("send_message", map[string]any{"message": text}, id)
	var ack struct {
		ID        string `json:"id"`
		MessageID int64  `json:"message_id"`
	}
	w.expectSkipping("ack", "new_message").decode(w.t, &ack)
	if ack.ID != id || ack.MessageID <= 0 {
		w.t.Fatalf("ack %+v for %q", ack, id)
	}
	return ack.MessageID
}

// expectSkipping is expect that also skips the listed types.
func (w *wsConn) expectSkipping(typ string, skip ...string) event {
	w.t.Helper()
	for {
		ev := w.next()
		if ev.Type == typ {
			return ev
		}
		ok := ev.Type == "user_joined" || ev.Type == "user_left" || ev.Type == "typing"
		for _, s := range skip {
			ok = ok || ev.Type == s
		}
		if !ok {
			w.t.Fatalf("got %s %s, want %s", ev.Type, ev.Payload, typ)
		}
	}
}

// expectClose reads until the connection closes and checks the close code.
func (w *wsConn) expectClose(code int) {
	w.t.Helper()
	_ = w.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		_, _, err := w.conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if ok := asCloseError(err, &ce); !ok || ce.Code != code {
			w.t.Fatalf("connection ended with %v, want close %d", err, code)
		}
		return
	}
}

// fetchJSON GETs url and decodes the JSON object answered.
func fetchJSON(t *testing.T, c *http.Client, url string) (int, map[string]any) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// metricValue reads one unlabelled sample from /metrics.
func metricValue(t *testing.T, s *testServer, name string) float64 {
	t.Helper()
	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %q", name, line)
			}
			return f
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}
