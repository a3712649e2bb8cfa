package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// TicketLen is the length of a ticket as sent: 32 random bytes (256 bits) in
// unpadded base64url.
const TicketLen = 43

// Ticket is what a ticket stands for: one user's right to open one WebSocket,
// on behalf of one session, until Expires.
type Ticket struct {
	User    string
	Session string // the session id (a hash of the cookie), so logout can close the socket
	Expires time.Time
}

// TicketStore keeps issued tickets. Take must be atomic: of many concurrent
// Takes of one token, exactly one gets it.
type TicketStore interface {
	Put(ctx context.Context, token string, t Ticket) error
	// Take removes the ticket and returns it; ok is false if it was not there.
	Take(ctx context.Context, token string) (t Ticket, ok bool, err error)
	// DropSession removes every ticket of a session (at logout).
	DropSession(ctx context.Context, session string) error
}

// Tickets issues and redeems single-use WebSocket tickets.
type Tickets struct {
	store TicketStore
	ttl   time.Duration
	now   func() time.Time
}

// NewTickets returns a ticket service whose tickets live for ttl. now may be
// nil for time.Now.
func NewTickets(store TicketStore, ttl time.Duration, now func() time.Time) *Tickets {
	if now == nil {
		now = time.Now
	}
	return &Tickets{store: store, ttl: ttl, now: now}
}

// TTL is how long a new ticket stays valid.
func (t *Tickets) TTL() time.Duration { return t.ttl }

// Issue creates a ticket for user's session.
func (t *Tickets) Issue(ctx context.Context, user, session string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", &Error{Code: CodeUnavailable, Message: "Could not issue a ticket.", Err: err}
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	if err := t.store.Put(ctx, token, Ticket{User: user, Session: session, Expires: t.now().Add(t.ttl)}); err != nil {
		return "", &Error{Code: CodeUnavailable, Message: "Could not issue a ticket.", Err: err}
	}
	return token, nil
}

// Redeem uses a ticket up. It fails with CodeUnauthorized when the ticket is
// malformed, unknown, already used or expired (expiry is checked here, at
// redemption, whatever a sweeper may have done).
func (t *Tickets) Redeem(ctx context.Context, token string) (Ticket, error) {
	if !ValidTicket(token) {
		return Ticket{}, fail(CodeUnauthorized, "The ticket is missing or malformed.")
	}
	tk, ok, err := t.store.Take(ctx, token)
	if err != nil {
		return Ticket{}, &Error{Code: CodeUnavailable, Message: "Could not check the ticket.", Err: err}
	}
	if !ok {
		return Ticket{}, fail(CodeUnauthorized, "The ticket is unknown or already used.")
	}
	if !t.now().Before(tk.Expires) {
		return Ticket{}, fail(CodeUnauthorized, "The ticket has expired.")
	}
	return tk, nil
}

// DropSession voids the tickets of a session that has ended.
func (t *Tickets) DropSession(ctx context.Context, session string) error {
	if err := t.store.DropSession(ctx, session); err != nil {
		return &Error{Code: CodeUnavailable, Message: "Could not end the session's tickets.", Err: err}
	}
	return nil
}

// ValidTicket reports whether s has the form of a ticket (43 characters of
// the base64url alphabet). It says nothing of whether the ticket exists.
func ValidTicket(s string) bool {
	if len(s) != TicketLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	// The last character carries 4 padding bits that must be zero, so that
	// every ticket has exactly one spelling.
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

// MemoryTickets is the single-node TicketStore: a map under a mutex. Expired
// tickets are swept lazily on Put, at most once per sweep interval, so no
// goroutine is needed.
type MemoryTickets struct {
	mu        sync.Mutex
	m         map[string]Ticket
	lastSweep time.Time
	now       func() time.Time
}

// NewMemoryTickets returns an empty in-process ticket store. now may be nil.
func NewMemoryTickets(now func() time.Time) *MemoryTickets {
	if now == nil {
		now = time.Now
	}
	return &MemoryTickets{m: make(map[string]Ticket), now: now}
}

const sweepEvery = time.Second

// Put stores a ticket.
func (s *MemoryTickets) Put(_ context.Context, token string, t Ticket) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.lastSweep) >= sweepEvery {
		for k, v := range s.m {
			if !now.Before(v.Expires) {
				delete(s.m, k)
			}
		}
		s.lastSweep = now
	}
	s.m[token] = t
	return nil
}

// Take removes and returns a ticket.
func (s *MemoryTickets) Take(_ context.Context, token string) (Ticket, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[token]
	if ok {
		delete(s.m, token)
	}
	return t, ok, nil
}

// DropSession removes every ticket issued for session.
func (s *MemoryTickets) DropSession(_ context.Context, session string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m {
		if v.Session == session {
			delete(s.m, k)
		}
	}
	return nil
}

// Len returns how many tickets are held (expired ones not yet swept included).
func (s *MemoryTickets) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
