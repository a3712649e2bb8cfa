package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// ticketPattern is the form of a ticket: 32 random bytes in unpadded base64url.
var ticketPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// madeUpTicket returns a well-formed ticket the server never issued.
func madeUpTicket(t *testing.T) string {
	t.Helper()
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// httpResult is a response with its body read.
type httpResult struct {
	status  int
	header  http.Header
	body    []byte
	cookies []*http.Cookie
}

// newRequest builds a request; an empty contentType sends no Content-Type.
func newRequest(t *testing.T, method, url, contentType, body string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// httpDo sends req with c and reads the whole response.
func httpDo(t *testing.T, c *http.Client, req *http.Request) httpResult {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	return httpResult{status: resp.StatusCode, header: resp.Header, body: body, cookies: resp.Cookies()}
}

// postBody posts body as is with the given Content-Type.
func postBody(t *testing.T, c *http.Client, url, contentType, body string) httpResult {
	t.Helper()
	return httpDo(t, c, newRequest(t, http.MethodPost, url, contentType, body))
}

// credentialsJSON encodes {"username","password"}.
func credentialsJSON(t *testing.T, name, password string) string {
	t.Helper()
	raw, err := json.Marshal(map[string]string{"username": name, "password": password})
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// wantJSON checks the status and the JSON Content-Type and decodes the body
// into a map.
func (r httpResult) wantJSON(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d (%s), want %d", r.status, r.body, status)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q for status %d, want application/json", ct, status)
	}
	out := map[string]any{}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return out
}

// wantError checks the status and that the body is exactly
// {"error": "<a non-empty sentence>"} sent as application/json.
func (r httpResult) wantError(t *testing.T, status int) string {
	t.Helper()
	body := r.wantJSON(t, status)
	msg, ok := body["error"].(string)
	if !ok || strings.TrimSpace(msg) == "" || len(body) != 1 {
		t.Fatalf("error body %s, want {\"error\": \"<sentence>\"}", r.body)
	}
	return msg
}

// sessionCookie returns the parley_session cookie held in u's jar.
func (s *testServer) sessionCookie(t *testing.T, u *user) *http.Cookie {
	t.Helper()
	base, err := url.Parse(s.base)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range u.http.Jar.Cookies(base) {
		if c.Name == "parley_session" {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatalf("%s has no session cookie", u.name)
	return nil
}

// postWithCookie posts an empty body to path with cookie (nil: none) from a
// client without a jar, so exactly that cookie is sent.
func (s *testServer) postWithCookie(t *testing.T, path string, cookie *http.Cookie) httpResult {
	t.Helper()
	req := newRequest(t, http.MethodPost, s.base+path, "", "")
	if cookie != nil {
		req.AddCookie(cookie)
	}
	return httpDo(t, &http.Client{Timeout: 30 * time.Second}, req)
}

// getWithCookie is postWithCookie for GET.
func (s *testServer) getWithCookie(t *testing.T, path string, cookie *http.Cookie) httpResult {
	t.Helper()
	req := newRequest(t, http.MethodGet, s.base+path, "", "")
	if cookie != nil {
		req.AddCookie(cookie)
	}
	return httpDo(t, &http.Client{Timeout: 30 * time.Second}, req)
}

// clientFrom returns an HTTP client whose connections come from the local
// address ip (any address of 127.0.0.0/8 reaches a server on 127.0.0.1), so
// that the server sees a different client address.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// wsHandshake dials /ws with the raw query and Origin (empty: no header).
// A successful upgrade is closed at once and reported as status 101; a
// refused one returns the server's status and body.
func (s *testServer) wsHandshake(t *testing.T, rawQuery, origin string) httpResult {
	t.Helper()
	r, err := s.tryHandshake(rawQuery, origin)
	if err != nil {
		t.Fatalf("dial /ws: %v", err)
	}
	return r
}

// wsHandshakeNoFatal dials /ws with a ticket from any goroutine; a dial that
// gets no HTTP answer is reported as status 0 with the error as body.
func (s *testServer) wsHandshakeNoFatal(ticket string) httpResult {
	r, err := s.tryHandshake("ticket="+ticket, "")
	if err != nil {
		return httpResult{body: []byte(err.Error())}
	}
	return r
}

func (s *testServer) tryHandshake(rawQuery, origin string) (httpResult, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	u := "ws://" + s.addr + "/ws"
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, resp, err := d.Dial(u, h)
	if err == nil {
		c.Close()
		return httpResult{status: resp.StatusCode, header: resp.Header}, nil
	}
	if resp == nil {
		return httpResult{}, err
	}
	body, _ := io.ReadAll(resp.Body)
	return httpResult{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// stopKeepingExit shuts s down now (to restart on the same data folder) and
// leaves its exit code for the stop that t.Cleanup runs at the end, so the
// server is stopped once and checked once.
func (s *testServer) stopKeepingExit(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.exit:
		if code != 0 {
			t.Fatalf("server exited with %d: %s", code, s.logs.String())
		}
		s.exit <- code
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop")
	}
}

// expectCloseWithoutAck reads until the connection closes with code, failing
// if the server acknowledges anything first (the socket was usable).
func (w *wsConn) expectCloseWithoutAck(code int) {
	w.t.Helper()
	_ = w.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		_, data, err := w.conn.ReadMessage()
		if err == nil {
			var ev event
			if json.Unmarshal(data, &ev) == nil && ev.Type == "ack" {
				w.t.Fatalf("the socket is usable: got %s", data)
			}
			continue
		}
		var ce *websocket.CloseError
		if !asCloseError(err, &ce) || ce.Code != code {
			w.t.Fatalf("connection ended with %v, want close %d", err, code)
		}
		return
	}
}
