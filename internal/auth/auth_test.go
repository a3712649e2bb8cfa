package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestPasswordHashing(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$2a$10$") {
		t.Fatalf("hash %q is not bcrypt at cost 10", h)
	}
	h2, _ := HashPassword("correct horse")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if !CheckPassword(h, "correct horse") || CheckPassword(h, "correct horsE") || CheckPassword("garbage", "x") {
		t.Fatal("CheckPassword is wrong")
	}
}

func TestTicketsAreSingleUseAndExpire(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	tk := NewTickets(NewMemoryTickets(clk.now), 5*time.Second, clk.now)

	a, err := tk.Issue(ctx, "ann", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if !ValidTicket(a) || len(a) != TicketLen {
		t.Fatalf("ticket %q malformed", a)
	}
	got, err := tk.Redeem(ctx, a)
	if err != nil || got.User != "ann" || got.Session != "s1" {
		t.Fatalf("redeem: %+v %v", got, err)
	}
	if _, err := tk.Redeem(ctx, a); CodeOf(err) != CodeUnauthorized {
		t.Fatalf("second redeem: %v", err)
	}

	b, _ := tk.Issue(ctx, "ann", "s1")
	clk.add(5 * time.Second) // expiry is checked at redemption, no sweeper needed
	if _, err := tk.Redeem(ctx, b); CodeOf(err) != CodeUnauthorized {
		t.Fatalf("expired redeem: %v", err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("a", 42) + "!", strings.Repeat("a", 44)} {
		if _, err := tk.Redeem(ctx, bad); CodeOf(err) != CodeUnauthorized {
			t.Fatalf("redeem %q: %v", bad, err)
		}
	}
}

func TestTicketRaceHasOneWinner(t *testing.T) {
	ctx := context.Background()
	tk := NewTickets(NewMemoryTickets(nil), time.Minute, nil)
	tok, _ := tk.Issue(ctx, "ann", "s")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := tk.Redeem(ctx, tok); err == nil {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d winners", wins.Load())
	}
}

func TestMemoryTicketsSweepExpired(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	m := NewMemoryTickets(clk.now)
	ctx := context.Background()
	_ = m.Put(ctx, "a", Ticket{Expires: clk.now().Add(time.Second)})
	clk.add(2 * time.Second)
	_ = m.Put(ctx, "b", Ticket{Expires: clk.now().Add(time.Second)})
	if m.Len() != 1 {
		t.Fatalf("%d tickets held, want the expired one swept", m.Len())
	}
}

func TestLimiter(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	l := NewMemoryLimiter(3, clk.now)
	ctx := context.Background()
	for i := range 3 {
		if ok, _ := l.Allow(ctx, "k"); !ok {
			t.Fatalf("attempt %d refused", i)
		}
	}
	if ok, _ := l.Allow(ctx, "k"); ok {
		t.Fatal("fourth attempt allowed")
	}
	if ok, _ := l.Allow(ctx, "other"); !ok {
		t.Fatal("keys are not independent")
	}
	clk.add(20 * time.Second) // one token back at 3/minute
	if ok, _ := l.Allow(ctx, "k"); !ok {
		t.Fatal("no token after 20 s")
	}
	clk.add(2 * time.Minute)
	_, _ = l.Allow(ctx, "fresh") // sweeps full buckets
	l.mu.Lock()
	n := len(l.keys)
	l.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d keys kept after they refilled", n)
	}
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	a := NewAccounts(openStore(t), NewMemoryLimiter(100, clk.now), clk.now)

	cases := []struct {
		name, user, pass string
		code             Code
	}{
		{"ok", "Alice", "correct horse", ""},
		{"taken regardless of case", "alice", "correct horse", CodeConflict},
		{"short name", "al", "correct horse", CodeInvalid},
		{"long name", strings.Repeat("a", 33), "correct horse", CodeInvalid},
		{"bad character", "al ice", "correct horse", CodeInvalid},
		{"short password", "bob", "1234567", CodeInvalid},
		{"long password", "bob", strings.Repeat("p", 73), CodeInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := a.Register(ctx, tc.user, tc.pass, "1.2.3.4")
			if CodeOf(err) != tc.code {
				t.Fatalf("Register: %v, want code %q", err, tc.code)
			}
		})
	}

	u, err := a.Login(ctx, "ALICE", "correct horse", "1.2.3.4")
	if err != nil || u.Name != "Alice" {
		t.Fatalf("login: %+v %v", u, err)
	}
	_, e1 := a.Login(ctx, "alice", "wrong horse", "1.2.3.4")
	_, e2 := a.Login(ctx, "nobody", "wrong horse", "1.2.3.4")
	var ae1, ae2 *Error
	if !errors.As(e1, &ae1) || !errors.As(e2, &ae2) || ae1.Code != CodeUnauthorized || ae1.Message != ae2.Message {
		t.Fatalf("unknown user and wrong password differ: %v / %v", e1, e2)
	}

	cookie, err := a.CreateSession(ctx, "Alice")
	if err != nil {
		t.Fatal(err)
	}
	user, id, err := a.Session(ctx, cookie)
	if err != nil || user != "Alice" || id != SessionID(cookie) || id == cookie {
		t.Fatalf("session: %q %q %v", user, id, err)
	}
	clk.add(SessionMaxIdle + time.Minute)
	if _, _, err := a.Session(ctx, cookie); CodeOf(err) != CodeUnauthorized {
		t.Fatalf("idle session: %v", err)
	}
	cookie, _ = a.CreateSession(ctx, "Alice")
	if _, err := a.EndSession(ctx, cookie); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Session(ctx, cookie); CodeOf(err) != CodeUnauthorized {
		t.Fatalf("ended session: %v", err)
	}
}

func TestLoginRateLimitPerAddressAndName(t *testing.T) {
	ctx := context.Background()
	a := NewAccounts(openStore(t), NewMemoryLimiter(2, nil), nil)
	for range 2 {
		_, _ = a.Login(ctx, "zed", "whatever1", "10.0.0.1")
	}
	if _, err := a.Login(ctx, "zed", "whatever1", "10.0.0.2"); CodeOf(err) != CodeRateLimited {
		t.Fatalf("per-name limit from another address: %v", err)
	}
	if _, err := a.Login(ctx, "yan", "whatever1", "10.0.0.1"); CodeOf(err) != CodeRateLimited {
		t.Fatalf("per-address limit for another name: %v", err)
	}
}
