package cluster

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/broker"
	"github.com/parley-chat/parley/internal/testsvc"
)

func TestMain(m *testing.M) { testsvc.Main(m) }

func open(t *testing.T, url string, opts Options) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Open(ctx, url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestOpenRefusesUnreachableRedis(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Open(ctx, "redis://127.0.0.1:1/0", Options{}); err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if _, err := Open(ctx, "http://x", Options{}); err == nil {
		t.Fatal("Open of a non-Redis URL succeeded")
	}
}

func TestTicketsAreSingleUseAcrossNodes(t *testing.T) {
	url := testsvc.Redis(t)
	a, b := open(t, url, Options{}), open(t, url, Options{})
	ctx := bg(t)
	tk := auth.Ticket{User: "ann", Session: "s1", Expires: time.Now().Add(5 * time.Second)}
	if err := a.Tickets().Put(ctx, "tok-1", tk); err != nil {
		t.Fatal(err)
	}
	// Many takers on both nodes: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		node := a
		if i%2 == 1 {
			node = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, ok, err := node.Tickets().Take(ctx, "tok-1")
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				wins.Add(1)
				if got.User != "ann" || got.Session != "s1" || !got.Expires.Equal(tk.Expires.Truncate(time.Millisecond)) {
					t.Errorf("took %+v, want %+v", got, tk)
				}
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d takers got the ticket, want 1", wins.Load())
	}
	// Tickets are stored under a hash, never as they are.
	keys, err := a.rdb.Keys(ctx, "*tok-1*").Result()
	if err != nil || len(keys) != 0 {
		t.Fatalf("keys naming the ticket: %v %v", keys, err)
	}
}

func TestDropSessionVoidsItsTickets(t *testing.T) {
	c := open(t, testsvc.Redis(t), Options{})
	ctx := bg(t)
	exp := time.Now().Add(time.Minute)
	for i, s := range []string{"s1", "s1", "s2"} {
		if err := c.Tickets().Put(ctx, fmt.Sprint("t", i), auth.Ticket{User: "u", Session: s, Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Tickets().DropSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{false, false, true} {
		if _, ok, err := c.Tickets().Take(ctx, fmt.Sprint("t", i)); err != nil || ok != want {
			t.Errorf("ticket %d: ok=%v err=%v, want ok=%v", i, ok, err, want)
		}
	}
}

func TestLimiterIsShared(t *testing.T) {
	url := testsvc.Redis(t)
	a, b := open(t, url, Options{}), open(t, url, Options{})
	la, lb := a.Limiter(3), b.Limiter(3)
	ctx := bg(t)
	var allowed []bool
	for i := 0; i < 5; i++ {
		l := la
		if i%2 == 1 {
			l = lb
		}
		ok, err := l.Allow(ctx, "addr:127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		allowed = append(allowed, ok)
	}
	if want := []bool{true, true, true, false, false}; !slices.Equal(allowed, want) {
		t.Fatalf("allowed %v, want %v", allowed, want)
	}
	if ok, _ := la.Allow(ctx, "user:bob"); !ok {
		t.Fatal("another key was limited")
	}
}

func TestPresenceCountsUsersAcrossNodes(t *testing.T) {
	url := testsvc.Redis(t)
	a, b := open(t, url, Options{}), open(t, url, Options{})
	ctx := bg(t)
	pa, pb := a.Presence(), b.Presence()
	step := func(name string, got bool, err error, want bool) {
		t.Helper()
		if err != nil || got != want {
			t.Fatalf("%s = %v, %v; want %v", name, got, err, want)
		}
	}
	first, err := pa.Join(ctx, "go", "ann")
	step("ann joins on a", first, err, true)
	first, err = pb.Join(ctx, "go", "ann")
	step("ann joins on b", first, err, false)
	first, err = pb.Join(ctx, "go", "bob")
	step("bob joins on b", first, err, true)
	members, _ := pa.Members(ctx, "go")
	slices.Sort(members)
	if !slices.Equal(members, []string{"ann", "bob"}) {
		t.Fatalf("members %v", members)
	}
	rooms, _ := pa.Rooms(ctx)
	if len(rooms) != 1 || rooms[0].Name != "go" || rooms[0].Members != 2 {
		t.Fatalf("rooms %+v", rooms)
	}
	last, err := pa.Leave(ctx, "go", "ann")
	step("ann leaves a", last, err, false)
	last, err = pb.Leave(ctx, "go", "ann")
	step("ann leaves b", last, err, true)
	last, err = pb.Leave(ctx, "go", "bob")
	step("bob leaves b", last, err, true)
	if rooms, _ := pa.Rooms(ctx); len(rooms) != 0 {
		t.Fatalf("rooms after everyone left: %+v", rooms)
	}
}

func TestDeadNodeIsReaped(t *testing.T) {
	url := testsvc.Redis(t)
	opts := Options{NodeTTL: 300 * time.Millisecond, Heartbeat: 50 * time.Millisecond}
	alive := open(t, url, opts)
	left := make(chan string, 4)
	alive.OnLeft(func(room, user string) { left <- room + "/" + user })
	ctx := bg(t)
	if _, err := alive.Presence().Join(ctx, "go", "ann"); err != nil {
		t.Fatal(err)
	}
	// A node that registers members and then stops beating, as if killed.
	dead, err := Open(ctx, url, Options{Heartbeat: time.Hour, NodeTTL: opts.NodeTTL})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"ann", "cy"} {
		if _, err := dead.Presence().Join(ctx, "go", u); err != nil {
			t.Fatal(err)
		}
	}
	dead.once.Do(func() { close(dead.stop) }) // stop beating; leave the Redis state behind
	dead.wg.Wait()
	defer dead.rdb.Close()

	select {
	case got := <-left:
		if got != "go/cy" {
			t.Fatalf("user_left for %s, want go/cy (ann is still on the live node)", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the dead node's users were not reaped")
	}
	members, _ := alive.Presence().Members(ctx, "go")
	if !slices.Equal(members, []string{"ann"}) {
		t.Fatalf("members after the reap: %v", members)
	}
}

func TestPresenceComesBackAfterRedisRestart(t *testing.T) {
	srv := testsvc.StartRedis(t)
	c := open(t, srv.URL(), Options{Heartbeat: 50 * time.Millisecond})
	ctx := bg(t)
	if _, err := c.Presence().Join(ctx, "go", "ann"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	srv.Start() // empty: no persistence
	deadline := time.Now().Add(10 * time.Second)
	for {
		members, err := c.Presence().Members(ctx, "go")
		if err == nil && slices.Equal(members, []string{"ann"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("members after the restart: %v, %v", members, err)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
}

// memSource is a broker.Source over a list of stored messages.
type memSource struct {
	mu   sync.Mutex
	msgs []broker.Event
}

func (s *memSource) add(e broker.Event) {
	s.mu.Lock()
	s.msgs = append(s.msgs, e)
	s.mu.Unlock()
}

func (s *memSource) Newest(context.Context, string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.msgs) == 0 {
		return 0, nil
	}
	return s.msgs[len(s.msgs)-1].ID, nil
}

func (s *memSource) After(_ context.Context, _ string, after int64, limit int) ([]broker.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []broker.Event
	for _, e := range s.msgs {
		if e.ID > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// recorder collects what a broker delivers.
type recorder struct {
	mu  sync.Mutex
	ids []int64
	got chan struct{}
}

func newRecorder() *recorder { return &recorder{got: make(chan struct{}, 1024)} }

func (r *recorder) handle(_ string, e broker.Event) {
	r.mu.Lock()
	r.ids = append(r.ids, e.ID)
	r.mu.Unlock()
	r.got <- struct{}{}
}

func (r *recorder) wait(t *testing.T, n int) []int64 {
	t.Helper()
	for {
		r.mu.Lock()
		ids := slices.Clone(r.ids)
		r.mu.Unlock()
		if len(ids) >= n {
			return ids
		}
		select {
		case <-r.got:
		case <-time.After(30 * time.Second):
			t.Fatalf("delivered %v, want %d events", ids, n)
		}
	}
}

func newBroker(t *testing.T, c *Cluster, h broker.Handler, src broker.Source) broker.Broker {
	t.Helper()
	b, err := c.NewBroker(h, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestBrokerDeliversAcrossNodesInIDOrder(t *testing.T) {
	url := testsvc.Redis(t)
	a, b := open(t, url, Options{}), open(t, url, Options{})
	src := &memSource{}
	ra, rb := newRecorder(), newRecorder()
	ba, bb := newBroker(t, a, ra.handle, src), newBroker(t, b, rb.handle, src)
	ctx := bg(t)
	for _, br := range []broker.Broker{ba, bb} {
		_ = br.Subscribe("go")
		if err := br.Ready(ctx, "go"); err != nil {
			t.Fatal(err)
		}
	}
	// Messages 1..6 stored in order; node a publishes the odd ones, node b
	// the even ones, each late by one so that every publication but the
	// first arrives before the one it follows.
	msg := func(id int64) broker.Event {
		return broker.Event{ID: id, Prev: id - 1, Payload: []byte(fmt.Sprint(id))}
	}
	for id := int64(1); id <= 6; id++ {
		src.add(msg(id))
	}
	for _, id := range []int64{2, 1, 4, 3, 6, 5} {
		pub := ba
		if id%2 == 0 {
			pub = bb
		}
		if err := pub.Publish(ctx, "go", msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	want := []int64{1, 2, 3, 4, 5, 6}
	if got := ra.wait(t, 6); !slices.Equal(got, want) {
		t.Fatalf("node a delivered %v, want %v", got, want)
	}
	if got := rb.wait(t, 6); !slices.Equal(got, want) {
		t.Fatalf("node b delivered %v, want %v", got, want)
	}
}

func TestBrokerFillsAGapFromTheStore(t *testing.T) {
	url := testsvc.Redis(t)
	a, b := open(t, url, Options{}), open(t, url, Options{})
	src := &memSource{}
	rb := newRecorder()
	ba, bb := newBroker(t, a, func(string, broker.Event) {}, src), newBroker(t, b, rb.handle, src)
	ctx := bg(t)
	_ = bb.Subscribe("go")
	if err := bb.Ready(ctx, "go"); err != nil {
		t.Fatal(err)
	}
	// 1 and 2 are stored but their publications are lost; 3 arrives.
	for id := int64(1); id <= 3; id++ {
		src.add(broker.Event{ID: id, Prev: id - 1, Payload: []byte("x")})
	}
	if err := ba.Publish(ctx, "go", broker.Event{ID: 3, Prev: 2, Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if got := rb.wait(t, 3); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Fatalf("delivered %v, want [1 2 3]", got)
	}
}

func TestBrokerOnlySubscribedRoomsArrive(t *testing.T) {
	url := testsvc.Redis(t)
	a, b := open(t, url, Options{}), open(t, url, Options{})
	src := &memSource{}
	var mu sync.Mutex
	rooms := map[string]int{}
	got := make(chan struct{}, 16)
	ba := newBroker(t, a, func(string, broker.Event) {}, src)
	bb := newBroker(t, b, func(room string, _ broker.Event) {
		mu.Lock()
		rooms[room]++
		mu.Unlock()
		got <- struct{}{}
	}, src)
	ctx := bg(t)
	_ = bb.Subscribe("mine")
	if err := bb.Ready(ctx, "mine"); err != nil {
		t.Fatal(err)
	}
	_ = ba.Publish(ctx, "other", broker.Event{Payload: []byte("typing")})
	_ = ba.Publish(ctx, "mine", broker.Event{Payload: []byte("typing")})
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("nothing arrived")
	}
	// The publications arrive in order: once "mine" is here, "other" would
	// have been too.
	mu.Lock()
	defer mu.Unlock()
	if rooms["other"] != 0 || rooms["mine"] != 1 {
		t.Fatalf("deliveries by room %v", rooms)
	}
	n, err := a.rdb.PubSubNumSub(ctx, a.key("room", "other"), a.key("room", "mine")).Result()
	if err != nil || n[a.key("room", "other")] != 0 || n[a.key("room", "mine")] != 1 {
		t.Fatalf("subscribers %v %v", n, err)
	}
}

func TestEndSessionReachesOtherNodes(t *testing.T) {
	url := testsvc.Redis(t)
	a, b := open(t, url, Options{}), open(t, url, Options{})
	src := &memSource{}
	newBroker(t, a, func(string, broker.Event) {}, src)
	bb := newBroker(t, b, func(string, broker.Event) {}, src)
	ended := make(chan string, 1)
	b.OnSessionEnded(func(s string) { ended <- s })
	ctx := bg(t)
	// The control channel is subscribed when the broker starts; wait for it.
	_ = bb.Subscribe("x")
	_ = bb.Ready(ctx, "x")
	if err := a.EndSession(ctx, "sess-1"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-ended:
		if s != "sess-1" {
			t.Fatalf("ended %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the other node did not hear of the logout")
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add(encodeEvent("node", broker.Event{ID: 5, Prev: 4, Except: "ann", Payload: []byte(`{"type":"x"}`)}))
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		node, e, err := decodeEvent(b)
		if err != nil {
			return
		}
		again := encodeEvent(node, e)
		n2, e2, err := decodeEvent(again)
		if err != nil || n2 != node || e2.ID != e.ID || e2.Prev != e.Prev || e2.Except != e.Except || string(e2.Payload) != string(e.Payload) {
			t.Fatalf("round trip of %+v failed", e)
		}
	})
}

func TestTypingIsThrottledAcrossNodes(t *testing.T) {
	url := testsvc.Redis(t)
	a, b := open(t, url, Options{}), open(t, url, Options{})
	ctx := bg(t)
	every := time.Minute
	if !a.Presence().AllowTyping(ctx, "go", "ann", every) {
		t.Fatal("the first typing event was refused")
	}
	if b.Presence().AllowTyping(ctx, "go", "ann", every) {
		t.Fatal("a second typing event on another node within the interval was allowed")
	}
	if !b.Presence().AllowTyping(ctx, "go", "bob", every) || !b.Presence().AllowTyping(ctx, "rust", "ann", every) {
		t.Fatal("another user or room was throttled")
	}
}
