package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestHTTPIndexAndStatic(t *testing.T) {
	s := startServer(t)
	c := newHTTPClient(t)

	page := httpDo(t, c, newRequest(t, http.MethodGet, s.base+"/", "", ""))
	if page.status != http.StatusOK || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %q", page.status, page.header.Get("Content-Type"))
	}
	csp := page.header.Get("Content-Security-Policy")
	if strings.Contains(csp, "'unsafe-inline'") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	scriptSelf := false
	for _, d := range strings.Split(csp, ";") {
		f := strings.Fields(d)
		if len(f) > 0 && f[0] == "script-src" {
			for _, src := range f[1:] {
				scriptSelf = scriptSelf || src == "'self'"
			}
		}
	}
	if !scriptSelf {
		t.Errorf("CSP %q has no script-src 'self'", csp)
	}
	if got := page.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options %q, want nosniff", got)
	}
	// The CSP forbids inline script, so every script of the page has a src.
	for _, tag := range regexp.MustCompile(`(?i)<script\b[^>]*>`).FindAllString(string(page.body), -1) {
		if !strings.Contains(tag, "src=") {
			t.Errorf("inline script %q would be blocked by the CSP", tag)
		}
	}
	if !bytes.Contains(page.body, []byte(`src="/static/app.js"`)) {
		t.Errorf("the page does not load /static/app.js")
	}

	js := httpDo(t, c, newRequest(t, http.MethodGet, s.base+"/static/app.js", "", ""))
	if js.status != http.StatusOK || len(js.body) == 0 {
		t.Fatalf("GET /static/app.js: %d, %d bytes", js.status, len(js.body))
	}
	if ct := js.header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("app.js Content-Type %q, want JavaScript", ct)
	}
	if js.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("app.js without X-Content-Type-Options nosniff")
	}
}

func TestHTTPRooms(t *testing.T) {
	s := startServer(t)
	s.getWithCookie(t, "/rooms", nil).wantError(t, http.StatusUnauthorized)
	s.getWithCookie(t, "/rooms", &http.Cookie{Name: "parley_session", Value: madeUpTicket(t)}).wantError(t, http.StatusUnauthorized)

	alice, bob := s.newUser(t, "alice"), s.newUser(t, "bob")
	cookie := s.sessionCookie(t, alice)
	rooms := func() string {
		t.Helper()
		r := s.getWithCookie(t, "/rooms", cookie)
		r.wantJSON(t, http.StatusOK)
		return string(bytes.TrimSpace(r.body))
	}
	if got := rooms(); got != `{"rooms":[]}` {
		t.Fatalf("no one connected: %s, want {\"rooms\":[]}", got)
	}

	s.connect(t, alice)
	s.connect(t, alice) // a second connection of the same user
	if got := rooms(); got != `{"rooms":[{"name":"general","members":1}]}` {
		t.Fatalf("alice twice in general: %s", got)
	}
	b := s.connect(t, bob)
	if got := rooms(); got != `{"rooms":[{"name":"general","members":2}]}` {
		t.Fatalf("alice and bob in general: %s", got)
	}
	b.send("change_room", map[string]any{"name": "lobby"}, "")
	b.expect("room_joined")
	want := map[string]float64{"general": 1, "lobby": 1}
	r := s.getWithCookie(t, "/rooms", cookie)
	list, _ := r.wantJSON(t, http.StatusOK)["rooms"].([]any)
	if len(list) != len(want) {
		t.Fatalf("rooms %s, want general and lobby with one member each", r.body)
	}
	for _, it := range list {
		room, _ := it.(map[string]any)
		name, _ := room["name"].(string)
		if n, ok := want[name]; !ok || room["members"] != n || len(room) != 2 {
			t.Fatalf("rooms %s, want general and lobby with one member each", r.body)
		}
	}
}

func TestHTTPHealthAndMetrics(t *testing.T) {
	s := startServer(t)
	c := newHTTPClient(t)
	if r := httpDo(t, c, newRequest(t, http.MethodGet, s.base+"/healthz", "", "")); r.status != http.StatusOK {
		t.Fatalf("GET /healthz: %d %s", r.status, r.body)
	}
	s.connect(t, s.newUser(t, "judy"))

	r := httpDo(t, c, newRequest(t, http.MethodGet, s.base+"/metrics", "", ""))
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %q", r.status, r.header.Get("Content-Type"))
	}
	text := string(r.body)
	for _, name := range []string{
		"parley_connections", "parley_rooms", "parley_messages_received_total",
		"parley_broadcasts_total", "parley_deliveries_total", "parley_slow_clients_dropped_total",
		"parley_rate_limited_total", "parley_http_requests_total", "process_resident_memory_bytes",
	} {
		if !regexp.MustCompile(`(?m)^# TYPE ` + name + ` (gauge|counter)$`).MatchString(text) {
			t.Errorf("/metrics has no %s", name)
		}
	}
	for _, re := range []string{
		`(?m)^parley_http_requests_total\{route="/healthz",status="200"\} [1-9]`,
		`(?m)^parley_http_requests_total\{route="/register",status="201"\} [1-9]`,
		`(?m)^parley_connections 1$`,
		`(?m)^parley_rooms 1$`,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("/metrics does not match %s", re)
		}
	}
}

func TestHTTPBodyTooLarge(t *testing.T) {
	s := startServer(t)
	c := newHTTPClient(t)
	big := credentialsJSON(t, "mallory", strings.Repeat("x", 17<<10))
	r := postBody(t, c, s.base+"/register", "application/json", big)
	if r.status != http.StatusRequestEntityTooLarge && r.status != http.StatusBadRequest {
		t.Fatalf("17 KiB body: %d %s, want 413 or 400", r.status, r.body)
	}
	r.wantError(t, r.status)
	t.Logf("17 KiB body: %d %s", r.status, r.body)
	if r := httpDo(t, c, newRequest(t, http.MethodGet, s.base+"/healthz", "", "")); r.status != http.StatusOK {
		t.Fatalf("GET /healthz after a large body: %d", r.status)
	}
	s.newUser(t, "mallory") // and still registers people
}

func TestHTTPSecretsNotLogged(t *testing.T) {
	s := startServer(t)
	const password = "correct horse" // newUser's password
	u := s.newUser(t, "oscar")
	first := u.ticket
	cookie := s.sessionCookie(t, u)
	s.connect(t, u)
	refused := s.freshTicket(t, u)
	if r := s.wsHandshake(t, "ticket="+refused, "http://evil.example"); r.status != http.StatusForbidden {
		t.Fatalf("foreign origin: %d", r.status)
	}
	if r := s.wsHandshake(t, "ticket="+first, ""); r.status != http.StatusUnauthorized {
		t.Fatalf("used ticket: %d", r.status)
	}
	postBody(t, newHTTPClient(t), s.base+"/login", "application/json", credentialsJSON(t, "oscar", "wrong horse battery"))
	s.stopKeepingExit(t) // every log line is written

	logs := s.logs.String()
	if !strings.Contains(logs, "/ws") || !strings.Contains(logs, "/login") {
		t.Fatalf("the access log does not show the requests: %s", logs)
	}
	for what, secret := range map[string]string{
		"the first ticket": first, "a refused ticket": refused, "the session cookie": cookie.Value,
		"the password": password, "a wrong password": "wrong horse battery",
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs contain %s", what)
		}
	}
}

func TestHTTPStartupFailures(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		mention string // what the line must name
	}{
		{"bad duration", []string{"-ticket-ttl", "banana"}, nil, "-ticket-ttl"},
		{"bad number", []string{"-read-limit", "lots"}, nil, "-read-limit"},
		{"out of range", []string{"-ticket-ttl", "0s"}, nil, "-ticket-ttl"},
		{"unknown flag", []string{"-no-such-flag"}, nil, "-no-such-flag"},
		{"bad environment value", nil, map[string]string{"PARLEY_MSG_RATE": "fast"}, "PARLEY_MSG_RATE"},
		{"missing certificate", []string{"-tls-cert", missing, "-tls-key", missing}, nil, "missing.pem"},
		{"data is a regular file", []string{"-data", file}, nil, "a-file"},
		{"cluster without a shared database", []string{"-redis-url", "redis://127.0.0.1:1/0"}, nil, "-database-url"},
		{"not a PostgreSQL URL", []string{"-database-url", "mysql://x"}, nil, "-database-url"},
		{"not a Redis URL", []string{"-database-url", "postgres://127.0.0.1:1/x", "-redis-url", "http://x"}, nil, "-redis-url"},
		{"unreachable PostgreSQL", []string{"-database-url", "postgres://parley@127.0.0.1:1/parley?connect_timeout=2"}, nil, "PostgreSQL"},
		{"bad write wait", []string{"-write-wait", "0s"}, nil, "-write-wait"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr syncBuffer
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			args := append([]string{"-addr", "127.0.0.1:0", "-data", t.TempDir()}, tc.args...)
			code := run(ctx, args, func(k string) string { return tc.env[k] }, &stderr, func(addr string) {
				t.Errorf("the server started on %s", addr)
				cancel()
			})
			out := stderr.String()
			t.Logf("exit %d, stderr %q", code, out)
			if code == 0 {
				t.Errorf("exit code 0, want non-zero")
			}
			if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") || len(strings.TrimSpace(out)) == 0 {
				t.Errorf("stderr %q, want exactly one line", out)
			}
			if !strings.Contains(out, tc.mention) {
				t.Errorf("stderr %q does not name %q", out, tc.mention)
			}
		})
	}
}
