package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

// These tests cover the account routes: /register, /login, /ticket and
// /logout, and sessions across a restart.

// malformedCredentials are bodies that are not a JSON object with
// "username" and "password" as strings, or not sent as JSON: all 400.
var malformedCredentials = []struct {
	name, contentType, body string
}{
	{"not JSON", "application/json", `username=erin&password=long enough`},
	{"truncated JSON", "application/json", `{"username":"erin","password":"long enough"`},
	{"JSON array", "application/json", `["erin","long enough"]`},
	{"JSON string", "application/json", `"erin"`},
	{"JSON null", "application/json", `null`},
	{"missing password", "application/json", `{"username":"erin"}`},
	{"missing username", "application/json", `{"password":"long enough"}`},
	{"username a number", "application/json", `{"username":12345,"password":"long enough"}`},
	{"password a number", "application/json", `{"username":"erin","password":12345678}`},
	{"password null", "application/json", `{"username":"erin","password":null}`},
	{"password an object", "application/json", `{"username":"erin","password":{"a":"b"}}`},
	{"empty body", "application/json", ``},
	{"no Content-Type", "", `{"username":"erin","password":"long enough"}`},
	{"text/plain", "text/plain", `{"username":"erin","password":"long enough"}`},
	{"form", "application/x-www-form-urlencoded", `{"username":"erin","password":"long enough"}`},
}

func TestHTTPRegister(t *testing.T) {
	s := startServer(t)
	c := newHTTPClient(t)
	tests := []struct {
		name, username, password string
		want                     int
	}{
		{"3 characters", "abc", "long enough", http.StatusCreated},
		{"32 characters", strings.Repeat("z", 32), "long enough", http.StatusCreated},
		{"every allowed character", "A-z_0.9", "long enough", http.StatusCreated},
		{"8-byte password", "pw8", "12345678", http.StatusCreated},
		{"72-byte password", "pw72", strings.Repeat("p", 72), http.StatusCreated},
		{"8 bytes in 4 characters", "pw4x2", "éééé", http.StatusCreated},
		{"empty name", "", "long enough", http.StatusBadRequest},
		{"2 characters", "ab", "long enough", http.StatusBadRequest},
		{"33 characters", strings.Repeat("y", 33), "long enough", http.StatusBadRequest},
		{"space", "al ice", "long enough", http.StatusBadRequest},
		{"slash", "al/ice", "long enough", http.StatusBadRequest},
		{"at sign", "al@ice", "long enough", http.StatusBadRequest},
		{"non-ASCII letter", "ålice", "long enough", http.StatusBadRequest},
		{"NUL", "ali\x00ce", "long enough", http.StatusBadRequest},
		{"7-byte password", "frank", "1234567", http.StatusBadRequest},
		{"empty password", "frank", "", http.StatusBadRequest},
		{"73-byte password", "frank", strings.Repeat("p", 73), http.StatusBadRequest},
		{"6 bytes in 3 characters", "frank", "ééé", http.StatusBadRequest},
		{"74 bytes in 37 characters", "frank", strings.Repeat("é", 37), http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := postBody(t, c, s.base+"/register", "application/json", credentialsJSON(t, tc.username, tc.password))
			if tc.want != http.StatusCreated {
				r.wantError(t, tc.want)
				return
			}
			body := r.wantJSON(t, http.StatusCreated)
			if body["username"] != tc.username || len(body) != 1 {
				t.Fatalf("body %s, want {\"username\": %q}", r.body, tc.username)
			}
		})
	}
	for _, tc := range malformedCredentials {
		t.Run(tc.name, func(t *testing.T) {
			postBody(t, c, s.base+"/register", tc.contentType, tc.body).wantError(t, http.StatusBadRequest)
		})
	}
	t.Run("charset parameter", func(t *testing.T) {
		r := postBody(t, c, s.base+"/register", "application/json; charset=utf-8", credentialsJSON(t, "withcharset", "long enough"))
		r.wantJSON(t, http.StatusCreated)
	})
	t.Run("taken regardless of case", func(t *testing.T) {
		postBody(t, c, s.base+"/register", "application/json", credentialsJSON(t, "Dave", "long enough")).wantJSON(t, http.StatusCreated)
		for _, name := range []string{"Dave", "dave", "DAVE", "dAVe"} {
			postBody(t, c, s.base+"/register", "application/json", credentialsJSON(t, name, "another password")).wantError(t, http.StatusConflict)
		}
	})
	// None of the refused names was created: each can still be registered
	// once it is valid, and the malformed requests created no "erin".
	t.Run("refusals create nothing", func(t *testing.T) {
		postBody(t, c, s.base+"/register", "application/json", credentialsJSON(t, "frank", "long enough")).wantJSON(t, http.StatusCreated)
		postBody(t, c, s.base+"/register", "application/json", credentialsJSON(t, "erin", "long enough")).wantJSON(t, http.StatusCreated)
	})
}

func TestHTTPLogin(t *testing.T) {
	s := startServer(t, "-ticket-ttl", "7s")
	s.newUser(t, "Carol")

	c := newHTTPClient(t)
	r := postBody(t, c, s.base+"/login", "application/json", credentialsJSON(t, "cAROL", "correct horse"))
	body := r.wantJSON(t, http.StatusOK)
	if body["username"] != "Carol" {
		t.Errorf("username %v, want Carol as registered", body["username"])
	}
	if tk, _ := body["ticket"].(string); !ticketPattern.MatchString(tk) {
		t.Errorf("ticket %v is not 43 base64url characters", body["ticket"])
	}
	if body["expires_in"] != float64(7) {
		t.Errorf("expires_in %v, want 7 (the -ticket-ttl in seconds)", body["expires_in"])
	}
	var session *http.Cookie
	for _, ck := range r.cookies {
		if ck.Name == "parley_session" {
			session = ck
		}
	}
	switch {
	case session == nil:
		t.Fatalf("no parley_session cookie in %q", r.header.Values("Set-Cookie"))
	case session.Value == "":
		t.Errorf("empty session cookie")
	case !session.HttpOnly:
		t.Errorf("session cookie is not HttpOnly")
	case session.SameSite != http.SameSiteLaxMode:
		t.Errorf("session cookie SameSite %v, want Lax: %q", session.SameSite, r.header.Values("Set-Cookie"))
	case session.Path != "/":
		t.Errorf("session cookie Path %q, want /", session.Path)
	case session.Secure:
		t.Errorf("session cookie is Secure over plain HTTP, so the browser would drop it")
	}
	// The cookie from a case-insensitive login is Carol's session.
	if code, tb := postJSON(t, c, s.base+"/ticket", nil); code != http.StatusOK || tb["username"] != "Carol" {
		t.Errorf("ticket after login: %d %v", code, tb)
	}

	for _, tc := range malformedCredentials {
		t.Run(tc.name, func(t *testing.T) {
			postBody(t, c, s.base+"/login", tc.contentType, tc.body).wantError(t, http.StatusBadRequest)
		})
	}

	t.Run("unknown user and wrong password alike", func(t *testing.T) {
		unknown := postBody(t, c, s.base+"/login", "application/json", credentialsJSON(t, "nobody", "correct horse"))
		wrong := postBody(t, c, s.base+"/login", "application/json", credentialsJSON(t, "Carol", "wrong horse"))
		unknown.wantError(t, http.StatusUnauthorized)
		wrong.wantError(t, http.StatusUnauthorized)
		if !bytes.Equal(unknown.body, wrong.body) {
			t.Errorf("bodies differ: unknown user %s, wrong password %s", unknown.body, wrong.body)
		}
		for _, r := range []httpResult{unknown, wrong} {
			for _, ck := range r.cookies {
				if ck.Name == "parley_session" && ck.Value != "" {
					t.Errorf("a failed login set a session cookie")
				}
			}
		}
	})
}

func TestHTTPTicket(t *testing.T) {
	s := startServer(t, "-ticket-ttl", "9s")
	u := s.newUser(t, "grace")
	code, body := postJSON(t, u.http, s.base+"/ticket", nil)
	if code != http.StatusOK {
		t.Fatalf("POST /ticket with the cookie: %d %v", code, body)
	}
	tk, _ := body["ticket"].(string)
	if !ticketPattern.MatchString(tk) || tk == u.ticket || body["expires_in"] != float64(9) {
		t.Fatalf("POST /ticket: %v (login ticket %q)", body, u.ticket)
	}
	u.ticket, u.ticketAt = tk, time.Now()
	s.connect(t, u) // the new ticket opens a socket

	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
	}{
		{"no cookie", nil},
		{"empty cookie", &http.Cookie{Name: "parley_session", Value: ""}},
		{"made-up cookie", &http.Cookie{Name: "parley_session", Value: madeUpTicket(t)}},
		{"garbage cookie", &http.Cookie{Name: "parley_session", Value: "not-a-session"}},
		{"very long cookie", &http.Cookie{Name: "parley_session", Value: strings.Repeat("A", 2000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.postWithCookie(t, "/ticket", tc.cookie).wantError(t, http.StatusUnauthorized)
		})
	}
}

func TestHTTPSessionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	first := startServerIn(t, dir)
	u := first.newUser(t, "heidi")
	cookie := first.sessionCookie(t, u)
	first.stopKeepingExit(t)

	second := startServerIn(t, dir)
	body := second.postWithCookie(t, "/ticket", cookie).wantJSON(t, http.StatusOK)
	if body["username"] != "heidi" {
		t.Fatalf("ticket after restart for %v, want heidi", body["username"])
	}
	u.ticket, _ = body["ticket"].(string)
	u.ticketAt = time.Now()
	second.connect(t, u)
	// The account survived too.
	postBody(t, newHTTPClient(t), second.base+"/login", "application/json", credentialsJSON(t, "heidi", "correct horse")).wantJSON(t, http.StatusOK)
}

func TestHTTPLogout(t *testing.T) {
	s := startServer(t)
	u := s.newUser(t, "ivan")
	cookie := s.sessionCookie(t, u)
	w := s.connect(t, u)

	// Another session of the same user is not affected.
	other := &user{name: "ivan", http: newHTTPClient(t)}
	if code, body := postJSON(t, other.http, s.base+"/login", map[string]string{"username": "ivan", "password": "correct horse"}); code != http.StatusOK {
		t.Fatalf("second login: %d %v", code, body)
	}
	w2 := s.connect(t, other)

	r := s.postWithCookie(t, "/logout", cookie)
	if r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	w.expectClose(1008)
	s.postWithCookie(t, "/ticket", cookie).wantError(t, http.StatusUnauthorized)
	s.getWithCookie(t, "/rooms", cookie).wantError(t, http.StatusUnauthorized)

	w2.say("still here", "after-logout")
	if code, body := postJSON(t, other.http, s.base+"/ticket", nil); code != http.StatusOK {
		t.Fatalf("the other session's ticket: %d %v", code, body)
	}

	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
	}{
		{"without a cookie", nil},
		{"with an ended session", cookie},
		{"with a made-up cookie", &http.Cookie{Name: "parley_session", Value: madeUpTicket(t)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := s.postWithCookie(t, "/logout", tc.cookie); r.status != http.StatusNoContent {
				t.Fatalf("logout: %d %s", r.status, r.body)
			}
		})
	}
}

// A ticket issued before /logout but dialled after it must not give a
// lasting socket: either the upgrade is refused (401) or the socket is
// closed with 1008, as every socket of the ended session is.
func TestHTTPLogoutRetiresIssuedTickets(t *testing.T) {
	s := startServer(t)
	u := s.newUser(t, "ivy")
	cookie := s.sessionCookie(t, u)
	if r := s.postWithCookie(t, "/logout", cookie); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	c, resp, err := s.dialRaw(u.ticket, "")
	if err != nil {
		if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("dial with a ticket of a logged-out session: %v", err)
		}
		return
	}
	t.Cleanup(func() { c.Close() })
	w := &wsConn{t: t, conn: c}
	w.send("send_message", map[string]any{"message": "ghost"}, "ghost")
	w.expectCloseWithoutAck(1008)
}
