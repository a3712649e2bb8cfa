// Package cluster_test runs several real Parley nodes on one PostgreSQL and
// one Redis (real servers on loopback, started by the tests) and checks
// that they behave as one chat.
package cluster_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/internal/testsvc"
)

func TestMain(m *testing.M) { testsvc.Main(m) }

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// binary builds parley once for the test binary.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "parley-cluster-bin")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "parley")
		cmd := exec.Command("go", "build", "-o", binPath, "../..")
		cmd.Stderr = os.Stderr
		buildErr = cmd.Run()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return binPath
}

// cluster is a PostgreSQL database, a Redis and the nodes started on them.
type cluster struct {
	t     testing.TB
	db    string
	redis *testsvc.RedisServer
}

func newCluster(t testing.TB) *cluster {
	return &cluster{t: t, db: testsvc.Postgres(t), redis: testsvc.StartRedis(t)}
}

// newClusterOwnDB is newCluster on a PostgreSQL server of the test's own,
// which it may stop and start.
func newClusterOwnDB(t testing.TB) (*cluster, *testsvc.PostgresServer) {
	pg := testsvc.StartPostgres(t)
	return &cluster{t: t, db: pg.URL(), redis: testsvc.StartRedis(t)}, pg
}

type node struct {
	t    testing.TB
	proc *testsvc.Process
	base string // http://127.0.0.1:port
}

// start runs one node of the cluster on a free port.
func (c *cluster) start() *node {
	c.t.Helper()
	return startNode(c.t, "-database-url", c.db, "-redis-url", c.redis.URL())
}

// startNode runs the binary with args on a free port.
func startNode(t testing.TB, args ...string) *node {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"-addr", "127.0.0.1:0",
		"-login-rate", "1000", "-msg-rate", "10000", "-msg-burst", "10000"}, args...)...)
	p := testsvc.StartListening(t, cmd)
	return &node{t: t, proc: p, base: "http://" + p.Addr}
}

// kill stops the node with SIGKILL, by its process id, and waits for it.
func (n *node) kill() { n.proc.Kill() }

// user is an account with a session cookie (valid on every node).
type user struct {
	name   string
	cookie *http.Cookie
}

func post(t testing.TB, url string, body any, cookie *http.Cookie) (*http.Response, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(http.MethodPost, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

// register makes an account on n and logs in there.
func (n *node) register(name string) *user {
	t := n.t
	t.Helper()
	creds := map[string]string{"username": name, "password": "correct horse battery"}
	if resp, body := post(t, n.base+"/register", creds, nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("register %s: %d %v", name, resp.StatusCode, body)
	}
	resp, body := post(t, n.base+"/login", creds, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d %v", name, resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		if c.Value != "" {
			return &user{name: name, cookie: c}
		}
	}
	t.Fatal("login set no cookie")
	return nil
}

// ticket asks n for a ticket with u's session.
func (n *node) ticket(u *user) string {
	n.t.Helper()
	resp, body := post(n.t, n.base+"/ticket", nil, u.cookie)
	if resp.StatusCode != http.StatusOK {
		n.t.Fatalf("ticket for %s on %s: %d %v", u.name, n.base, resp.StatusCode, body)
	}
	return body["ticket"].(string)
}

func (n *node) dial(ticket string) (*websocket.Conn, *http.Response, error) {
	return websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(n.base, "http")+"/ws?ticket="+ticket, nil)
}

type event struct {
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

type message struct {
	ID      int64  `json:"id"`
	Room    string `json:"room"`
	From    string `json:"from"`
	Message string `json:"message"`
}

type roomJoined struct {
	Room      string    `json:"room"`
	Members   []string  `json:"members"`
	History   []message `json:"history"`
	Recovered *bool     `json:"recovered"`
}

// conn is one user's WebSocket to one node. Its events are read by one
// goroutine into a channel, so writes and reads may come from the test.
type conn struct {
	t      testing.TB
	ws     *websocket.Conn
	events chan event
	mu     sync.Mutex
	err    error // why reading ended; set before events is closed
}

// connect opens a socket for u on n and reads its first room_joined.
func (n *node) connect(u *user) (*conn, roomJoined) {
	t := n.t
	t.Helper()
	ws, resp, err := n.dial(n.ticket(u))
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s for %s: %v (%d)", n.base, u.name, err, status)
	}
	c := &conn{t: t, ws: ws, events: make(chan event, 4096)}
	go func() {
		defer close(c.events)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				c.err = err
				return
			}
			var e event
			if json.Unmarshal(data, &e) == nil {
				c.events <- e
			}
		}
	}()
	t.Cleanup(func() { _ = ws.Close() })
	var rj roomJoined
	c.expect("room_joined").decode(t, &rj)
	return c, rj
}

func (e event) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(e.Payload, v); err != nil {
		t.Fatalf("decode %s: %v", e.Type, err)
	}
}

func (c *conn) send(typ string, payload any, id string) {
	c.t.Helper()
	ev := map[string]any{"type": typ, "payload": payload}
	if id != "" {
		ev["id"] = id
	}
	b, _ := json.Marshal(ev)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next returns the next event, failing the test after 30 s of silence.
func (c *conn) next() event {
	c.t.Helper()
	select {
	case e, ok := <-c.events:
		if !ok {
			c.t.Fatal("connection closed")
		}
		return e
	case <-time.After(30 * time.Second):
		c.t.Fatal("no event in 30s")
	}
	return event{}
}

// expect returns the next event of type typ, skipping typing, presence and
// acks on the way.
func (c *conn) expect(typ string) event {
	c.t.Helper()
	for {
		e := c.next()
		if e.Type == typ {
			return e
		}
		if e.Type == "error" {
			c.t.Fatalf("error while waiting for %s: %s", typ, e.Payload)
		}
	}
}

// changeRoom joins room (with since when >= 0) and returns room_joined.
func (c *conn) changeRoom(room string, since int64) roomJoined {
	c.t.Helper()
	p := map[string]any{"name": room}
	if since >= 0 {
		p["since"] = since
	}
	c.send("change_room", p, "")
	var rj roomJoined
	c.expect("room_joined").decode(c.t, &rj)
	return rj
}

// say sends a message and returns its id from the ack; new_message events
// that arrive first are returned too.
func (c *conn) say(text string) (int64, []message) {
	c.t.Helper()
	id := fmt.Sprint(time.Now().UnixNano())
	c.send("send_message", map[string]string{"message": text}, id)
	var seen []message
	for {
		e := c.next()
		switch e.Type {
		case "new_message":
			var m message
			e.decode(c.t, &m)
			seen = append(seen, m)
		case "ack":
			var a struct {
				ID        string `json:"id"`
				MessageID int64  `json:"message_id"`
			}
			e.decode(c.t, &a)
			if a.ID == id {
				return a.MessageID, seen
			}
		case "error":
			c.t.Fatalf("send failed: %s", e.Payload)
		}
	}
}

// messages reads new_message events until it has n, failing on a repeat or
// an id out of order.
func (c *conn) messages(n int, after int64) []message {
	c.t.Helper()
	var out []message
	last := after
	for len(out) < n {
		e := c.next()
		if e.Type != "new_message" {
			continue
		}
		var m message
		e.decode(c.t, &m)
		if m.ID <= last {
			c.t.Fatalf("message %d after %d: repeated or out of order", m.ID, last)
		}
		last = m.ID
		out = append(out, m)
	}
	return out
}

func ids(ms []message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func health(t testing.TB, n *node) int {
	t.Helper()
	resp, err := http.Get(n.base + "/healthz")
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// closed waits until the server ends the connection and returns why.
func (c *conn) closed() error {
	c.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case _, ok := <-c.events:
			if !ok {
				return c.err
			}
		case <-timeout:
			c.t.Fatal("the connection stayed open")
		}
	}
}

// waitHealth polls /healthz until it answers code, failing after within.
func (n *node) waitHealth(code int, within time.Duration) {
	n.t.Helper()
	deadline := time.Now().Add(within)
	for health(n.t, n) != code {
		if time.Now().After(deadline) {
			n.t.Fatalf("%s /healthz did not turn %d within %v", n.base, code, within)
		}
		time.Sleep(50 * time.Millisecond) // polling the health endpoint, bounded
	}
}

// relay sends text from one connection and checks that the next message
// the other gets after id after is that one; it returns the message's id.
func relay(from, to *conn, text string, after int64) int64 {
	to.t.Helper()
	id, _ := from.say(text)
	if got := to.messages(1, after); got[0].ID != id {
		to.t.Fatalf("got message %d, want %d (%q)", got[0].ID, id, text)
	}
	return id
}
