package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-chat/parley/internal/broker"
	"github.com/parley-chat/parley/internal/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newHub(t *testing.T, cfg Config) *Hub {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = st
	if cfg.MsgRate == 0 {
		cfg.MsgRate, cfg.MsgBurst = 1000, 1000
	}
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.mu.RLock()
		var all []*Client
		for c := range h.clients {
			all = append(all, c)
		}
		h.mu.RUnlock()
		for _, c := range all {
			h.Disconnect(c)
		}
		if err := h.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		st.Close()
	})
	return h
}

type ev struct {
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// drain returns the events queued for c, decoded.
func drain(t *testing.T, c *Client) []ev {
	t.Helper()
	frames, _, _, _ := c.Take(nil)
	out := make([]ev, len(frames))
	for i, f := range frames {
		if err := json.Unmarshal(f, &out[i]); err != nil {
			t.Fatalf("frame %q: %v", f, err)
		}
	}
	return out
}

func types(evs []ev) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Type)
	}
	return strings.Join(s, ",")
}

func connect(t *testing.T, h *Hub, user string) *Client {
	t.Helper()
	c, err := h.Connect(context.Background(), user, "session-"+user)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHubJoinSendAndPresence(t *testing.T) {
	h := newHub(t, Config{})
	ctx := context.Background()
	a := connect(t, h, "ann")
	if got := types(drain(t, a)); got != "room_joined" {
		t.Fatalf("first events %q", got)
	}
	b := connect(t, h, "bo")
	drain(t, b)
	if got := types(drain(t, a)); got != "user_joined" {
		t.Fatalf("ann saw %q", got)
	}
	b2 := connect(t, h, "bo") // bo again: no user_joined
	drain(t, b2)
	a.Handle(ctx, []byte(`{"type":"send_message","payload":{"message":" hi "},"id":7}`))
	evs := drain(t, a)
	if types(evs) != "new_message,ack" {
		t.Fatalf("ann got %q", types(evs))
	}
	if string(evs[1].Payload) != `{"id":7,"message_id":1}` {
		t.Fatalf("ack %s", evs[1].Payload)
	}
	var m messageView
	_ = json.Unmarshal(evs[0].Payload, &m)
	if m.From != "ann" || m.Message != "hi" || m.ID != 1 || m.Room != "general" {
		t.Fatalf("message %+v", m)
	}
	// Every member got the very same bytes: encoded once.
	fb, _, _, _ := b.Take(nil)
	fb2, _, _, _ := b2.Take(nil)
	if len(fb) != 1 || len(fb2) != 1 || &fb[0][0] != &fb2[0][0] {
		t.Fatal("the broadcast was not shared between recipients")
	}
	h.Disconnect(b)
	if got := types(drain(t, a)); got != "" {
		t.Fatalf("bo still has a connection, ann got %q", got)
	}
	h.Disconnect(b2)
	if got := types(drain(t, a)); got != "user_left" {
		t.Fatalf("ann got %q", got)
	}
	if rooms := h.Rooms(context.Background()); len(rooms) != 1 || rooms[0] != (RoomInfo{Name: "general", Members: 1}) {
		t.Fatalf("rooms %+v", rooms)
	}
}

func TestHubEvictsFullQueue(t *testing.T) {
	h := newHub(t, Config{QueueFrames: 5})
	ctx := context.Background()
	slow := connect(t, h, "slow")
	talker := connect(t, h, "talk")
	for i := range 6 {
		talker.Handle(ctx, []byte(fmt.Sprintf(`{"type":"send_message","payload":{"message":"m%d"}}`, i)))
		drain(t, talker)
	}
	_, closing, code, _ := slow.Take(nil)
	if !closing || code != CloseTryAgainLater {
		t.Fatalf("slow client: closing %v code %d", closing, code)
	}
	if got := types(drain(t, talker)); got != "" {
		t.Fatalf("talker got %q after the eviction", got)
	}
	if rooms := h.Rooms(context.Background()); rooms[0].Members != 1 {
		t.Fatalf("rooms %+v", rooms)
	}
}

func TestJoinBuffersLiveMessagesWithoutDuplicates(t *testing.T) {
	h := newHub(t, Config{})
	c := connect(t, h, "cy")
	drain(t, c)
	// Simulate a message published while c is joining: it is held back
	// until room_joined is queued, and dropped if the history already has it.
	c.beginJoin()
	h.deliver("general", broker.Event{ID: 3, Payload: []byte(`{"type":"new_message","payload":{"id":3}}`)})
	h.deliver("general", broker.Event{ID: 4, Payload: []byte(`{"type":"new_message","payload":{"id":4}}`)})
	if got := types(drain(t, c)); got != "" {
		t.Fatalf("delivered while joining: %q", got)
	}
	c.finishJoin([]byte(`{"type":"room_joined","payload":{}}`), 3)
	evs := drain(t, c)
	if types(evs) != "room_joined,new_message" || string(evs[1].Payload) != `{"id":4}` {
		t.Fatalf("after join: %q %s", types(evs), evs[len(evs)-1].Payload)
	}
}

func TestLateAndRepeatedMessagesAreNotQueuedTwice(t *testing.T) {
	h := newHub(t, Config{})
	c := connect(t, h, "dee")
	drain(t, c)
	c.beginJoin()
	c.finishJoin([]byte(`{"type":"room_joined","payload":{}}`), 5) // history up to 5
	for _, id := range []int64{4, 5, 6, 6, 3, 7} {
		h.deliver("general", broker.Event{ID: id, Payload: []byte(fmt.Sprintf(`{"type":"new_message","payload":{"id":%d}}`, id))})
	}
	// Presence events carry no id and always pass.
	h.deliver("general", broker.Event{Payload: []byte(`{"type":"typing","payload":{}}`)})
	var got []string
	for _, e := range drain(t, c) {
		got = append(got, e.Type+string(e.Payload))
	}
	want := []string{`room_joined{}`, `new_message{"id":6}`, `new_message{"id":7}`, `typing{}`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("queued %q, want %q", got, want)
	}
}

func TestShutdownClosesEveryClientWith1001(t *testing.T) {
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := NewHub(Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	a := connect(t, h, "ann")
	done := make(chan error)
	go func() { done <- h.Shutdown(context.Background()) }()
	<-a.Wake()
	for {
		_, closing, code, _ := a.Take(nil)
		if closing {
			if code != CloseGoingAway {
				t.Fatalf("code %d", code)
			}
			break
		}
		<-a.Wake()
	}
	h.Disconnect(a) // what the socket handler does once the close is sent
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := h.Connect(context.Background(), "late", "s"); err != ErrClosed {
		t.Fatalf("connect after shutdown: %v", err)
	}
}

func TestCloseSession(t *testing.T) {
	h := newHub(t, Config{})
	a := connect(t, h, "ann")
	b := connect(t, h, "bo")
	h.CloseSession(context.Background(), "session-ann")
	if _, closing, code, _ := a.Take(nil); !closing || code != ClosePolicy {
		t.Fatalf("ann: closing %v code %d", closing, code)
	}
	if _, closing, _, _ := b.Take(nil); closing {
		t.Fatal("bo was closed too")
	}
}

func TestConnectAfterLogoutIsRefused(t *testing.T) {
	h := newHub(t, Config{})
	h.CloseSession(context.Background(), "session-ann")
	if _, err := h.Connect(context.Background(), "ann", "session-ann"); err != ErrSessionEnded {
		t.Fatalf("connect with an ended session: %v", err)
	}
	connect(t, h, "bo") // other sessions are unaffected
}
