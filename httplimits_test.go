package main

import (
	"net/http"
	"strconv"
	"testing"
)

// These tests cover the /login and /register rate limits: -login-rate
// attempts per minute per client address and, separately, per username.
// Clients come from different loopback addresses (127.0.0.0/8) so that the
// server sees different client addresses.

// attempt is one /login or /register request from a client address.
type attempt struct {
	from, path, username, password string
	want                           int
}

func runAttempts(t *testing.T, s *testServer, attempts []attempt) {
	t.Helper()
	clients := map[string]*http.Client{}
	for i, a := range attempts {
		c := clients[a.from]
		if c == nil {
			c = clientFrom(t, a.from)
			clients[a.from] = c
		}
		r := postBody(t, c, s.base+a.path, "application/json", credentialsJSON(t, a.username, a.password))
		if r.status != a.want {
			t.Fatalf("attempt %d (%s %s as %q from %s): %d %s, want %d", i+1, a.path, a.username, a.password, a.from, r.status, r.body, a.want)
		}
		if a.want == http.StatusTooManyRequests {
			r.wantError(t, http.StatusTooManyRequests)
			if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n <= 0 {
				t.Fatalf("attempt %d: Retry-After %q, want a number of seconds", i+1, r.header.Get("Retry-After"))
			}
		}
	}
}

func TestHTTPRateLimitPerAddress(t *testing.T) {
	const pw = "correct horse"
	tests := []struct {
		name     string
		attempts []attempt
	}{
		{"register", []attempt{
			{"127.0.0.2", "/register", "rate1", pw, http.StatusCreated},
			{"127.0.0.2", "/register", "rate2", pw, http.StatusCreated},
			{"127.0.0.2", "/register", "rate3", pw, http.StatusCreated},
			{"127.0.0.2", "/register", "rate4", pw, http.StatusTooManyRequests},
			{"127.0.0.2", "/login", "rate1", pw, http.StatusTooManyRequests},
			// The same name from another address is fine.
			{"127.0.0.3", "/register", "rate4", pw, http.StatusCreated},
		}},
		{"login", []attempt{
			{"127.0.0.2", "/login", "ghost1", pw, http.StatusUnauthorized},
			{"127.0.0.2", "/login", "ghost2", pw, http.StatusUnauthorized},
			{"127.0.0.2", "/login", "ghost3", pw, http.StatusUnauthorized},
			{"127.0.0.2", "/login", "ghost4", pw, http.StatusTooManyRequests},
			{"127.0.0.2", "/register", "ghost4", pw, http.StatusTooManyRequests},
			{"127.0.0.3", "/register", "ghost4", pw, http.StatusCreated},
			{"127.0.0.3", "/login", "ghost4", pw, http.StatusOK},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runAttempts(t, startServer(t, "-login-rate", "3"), tc.attempts)
		})
	}
}

func TestHTTPRateLimitPerUsername(t *testing.T) {
	const pw = "correct horse"
	tests := []struct {
		name     string
		attempts []attempt
	}{
		{"register", []attempt{
			{"127.0.0.2", "/register", "Target", pw, http.StatusCreated},
			{"127.0.0.3", "/register", "target", pw, http.StatusConflict},
			{"127.0.0.4", "/register", "TARGET", pw, http.StatusConflict},
			// A fresh address, but the name (in any case) has had its three.
			{"127.0.0.5", "/register", "tarGET", pw, http.StatusTooManyRequests},
			// From that address another name is fine, until its own limit.
			{"127.0.0.5", "/register", "other", pw, http.StatusCreated},
			{"127.0.0.6", "/register", "OTHER", pw, http.StatusConflict},
			{"127.0.0.7", "/register", "Other", pw, http.StatusConflict},
			{"127.0.0.8", "/register", "other", pw, http.StatusTooManyRequests},
		}},
		{"login", []attempt{
			{"127.0.0.9", "/register", "victim", pw, http.StatusCreated},
			{"127.0.0.9", "/register", "bystander", pw, http.StatusCreated},
			{"127.0.0.2", "/login", "victim", "guess one", http.StatusUnauthorized},
			{"127.0.0.3", "/login", "VICTIM", "guess two", http.StatusUnauthorized},
			// Even the right password is refused once the name has had its three.
			{"127.0.0.4", "/login", "Victim", pw, http.StatusTooManyRequests},
			// From that address another account is fine, until its own limit.
			{"127.0.0.4", "/login", "bystander", pw, http.StatusOK},
			{"127.0.0.5", "/login", "bystander", pw, http.StatusOK},
			{"127.0.0.6", "/login", "bystander", pw, http.StatusTooManyRequests},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runAttempts(t, startServer(t, "-login-rate", "3"), tc.attempts)
		})
	}
}
