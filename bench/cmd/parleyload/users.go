package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"

	"github.com/parley-chat/parley/bench/load"
)

// sessionFile is what -sessions keeps between runs.
type sessionFile struct {
	URL      string         `json:"url"` // where the sessions were made; a restarted server may listen elsewhere
	Sessions []load.Session `json:"sessions"`
}

// sessions returns n users: for the plain server just their names, for
// Parley registered and logged-in accounts, reused from -sessions when that
// file still holds enough working ones.
func sessions(ctx context.Context, o options, n int) ([]load.Session, error) {
	out := make([]load.Session, n)
	for i := range out {
		out[i].User = o.userPrefix + strconv.Itoa(i)
	}
	if o.target != load.TargetParley {
		return out, nil
	}
	api := load.NewAPI(o.url, 8)
	defer api.Close()
	if saved, ok := loadSessions(ctx, api, o, n); ok {
		return saved, nil
	}
	slog.Info("registering and logging in load accounts", "users", n)
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range out {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := api.Register(ctx, out[i].User, o.password)
			if err == nil {
				out[i].Cookie, err = api.Login(ctx, out[i].User, o.password)
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("account %s: %w", out[i].User, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		var se *load.StatusError
		if errors.As(firstErr, &se) && se.Status == 429 {
			return nil, fmt.Errorf("%w (start the server with a higher -login-rate)", firstErr)
		}
		return nil, firstErr
	}
	if o.sessions != "" {
		b, err := json.Marshal(sessionFile{URL: o.url, Sessions: out})
		if err == nil {
			err = os.WriteFile(o.sessions, b, 0o600)
		}
		if err != nil {
			slog.Warn("cannot save sessions", "file", o.sessions, "err", err)
		}
	}
	return out, nil
}

// loadSessions reads -sessions and checks one of its sessions against the
// server; it reports false when the file cannot serve this run.
func loadSessions(ctx context.Context, api *load.API, o options, n int) ([]load.Session, bool) {
	if o.sessions == "" {
		return nil, false
	}
	b, err := os.ReadFile(o.sessions)
	if err != nil {
		return nil, false
	}
	var f sessionFile
	if json.Unmarshal(b, &f) != nil || len(f.Sessions) < n || f.Sessions[0].User != o.userPrefix+"0" {
		return nil, false
	}
	for _, s := range []load.Session{f.Sessions[0], f.Sessions[n-1]} {
		if _, err := api.Ticket(ctx, s.Cookie); err != nil {
			return nil, false
		}
	}
	slog.Info("reusing saved sessions", "users", n)
	return f.Sessions[:n], true
}
