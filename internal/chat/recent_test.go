package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/store"
)

func testMessage(id, prev int64, sent time.Time) store.Message {
	return store.Message{ID: id, Prev: prev, Room: "r", From: "alice", Text: fmt.Sprintf("m%d <&> \"q\" é", id), Sent: sent}
}

// roomJoined is the room_joined payload as encoding/json renders it, to
// check encodeRoomJoined against.
type roomJoined struct {
	Room      string        `json:"room"`
	Members   []string      `json:"members"`
	History   []messageView `json:"history"`
	Recovered *bool         `json:"recovered,omitempty"`
}

func TestEncodeRoomJoinedMatchesEncode(t *testing.T) {
	base := time.Date(2026, 12, 1, 12, 0, 0, 123e6, time.UTC)
	var msgs []store.Message
	for i := int64(1); i <= 3; i++ {
		msgs = append(msgs, testMessage(i, i-1, base.Add(time.Duration(i)*time.Second)))
	}
	yes, no := true, false
	for _, tc := range []struct {
		members   []string
		history   []store.Message
		recovered *bool
	}{
		{[]string{"alice", "bob"}, msgs, nil},
		{[]string{}, nil, nil},
		{nil, msgs[:1], &yes},
		{[]string{"<b>"}, msgs, &no},
	} {
		want := encode(TypeRoomJoined, roomJoined{Room: "r", Members: orEmptyList(tc.members), History: viewsOf(orNone(tc.history)), Recovered: tc.recovered})
		got := encodeRoomJoined("r", mustJSON(orEmptyList(tc.members)), viewsFrom(tc.history), tc.recovered)
		if string(got) != string(want) {
			t.Errorf("encodeRoomJoined:\n got %s\nwant %s", got, want)
		}
	}
}

func orNone(m []store.Message) []store.Message {
	if m == nil {
		return []store.Message{}
	}
	return m
}

// snapshot (for tests) returns the version to pass to fill, and the cached views when
// valid: the newest keep (at most HistoryOnJoin) of those sent at or after
// notBefore (Unix ms; 0 for all).
func (r *recent) snapshot(keep int, notBefore int64) (views []cachedView, ok bool, version uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.valid {
		return nil, false, r.version
	}
	return append([]cachedView(nil), window(r.msgs, keep, notBefore)...), true, r.version
}

// ids lists the ids of what a snapshot holds, or "invalid".
func ids(r *recent, keep int, notBefore int64) string {
	views, ok, _ := r.snapshot(keep, notBefore)
	if !ok {
		return "invalid"
	}
	var b strings.Builder
	for i, v := range views {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, v.id)
	}
	return b.String()
}

func TestRecentFollowsDeliveriesAndStopsAtAGap(t *testing.T) {
	base := time.Now().UTC().Truncate(time.Millisecond)
	deliver := func(r *recent, id, prev int64) {
		r.delivered(id, prev, EncodeNewMessage(testMessage(id, prev, base.Add(time.Duration(id)*time.Second))))
	}
	var r recent
	_, _, v := r.snapshot(HistoryOnJoin, 0)
	deliver(&r, 1, 0)
	r.fill(nil, v) // read before message 1 was delivered: refused
	if got := ids(&r, HistoryOnJoin, 0); got != "invalid" {
		t.Fatalf("filled across a delivery: %s", got)
	}
	_, _, v = r.snapshot(HistoryOnJoin, 0)
	r.fill(viewsFrom([]store.Message{testMessage(1, 0, base.Add(time.Second))}), v)
	deliver(&r, 2, 1)
	deliver(&r, 2, 1) // a repeat
	deliver(&r, 3, 2)
	r.delivered(0, 0, encode(TypeUserJoined, roomUser{Room: "r", User: "bob"})) // not a message
	if got := ids(&r, HistoryOnJoin, 0); got != "1 2 3" {
		t.Fatalf("after 2 and 3: %s", got)
	}
	if got := ids(&r, 2, 0); got != "2 3" {
		t.Fatalf("newest 2: %s", got)
	}
	if got := ids(&r, HistoryOnJoin, base.Add(2*time.Second).UnixMilli()); got != "2 3" {
		t.Fatalf("sent from +2s: %s", got)
	}
	// The views are what a store read would give.
	views, _, _ := r.snapshot(HistoryOnJoin, 0)
	want := viewsFrom([]store.Message{testMessage(1, 0, base.Add(time.Second)), testMessage(2, 1, base.Add(2*time.Second)), testMessage(3, 2, base.Add(3*time.Second))})
	for i := range want {
		if string(views[i].view) != string(want[i].view) || views[i].sent != want[i].sent {
			t.Fatalf("view %d: %s (sent %d), want %s (sent %d)", i, views[i].view, views[i].sent, want[i].view, want[i].sent)
		}
	}
	deliver(&r, 5, 4) // 4 never came
	if got := ids(&r, HistoryOnJoin, 0); got != "invalid" {
		t.Fatalf("after a gap: %s", got)
	}
	deliver(&r, 6, 5) // still invalid until a fill
	if got := ids(&r, HistoryOnJoin, 0); got != "invalid" {
		t.Fatalf("after the gap: %s", got)
	}
}

func TestRecentKeepsTheNewestFifty(t *testing.T) {
	base := time.Now().UTC()
	var r recent
	_, _, v := r.snapshot(HistoryOnJoin, 0)
	r.fill(nil, v) // an empty room
	for id := int64(1); id <= 120; id++ {
		r.delivered(id, id-1, EncodeNewMessage(testMessage(id, id-1, base)))
	}
	views, ok, _ := r.snapshot(HistoryOnJoin, 0)
	if !ok || len(views) != HistoryOnJoin || views[0].id != 71 || views[len(views)-1].id != 120 {
		t.Fatalf("holds %d views, ok %v", len(views), ok)
	}
}

func TestViewOfPayloadRefusesOtherEvents(t *testing.T) {
	for _, p := range []string{
		`{"type":"user_joined","payload":{"room":"r","user":"u"}}`,
		`{"type":"new_message","payload":{}}`,
		`{"type":"new_message","payload":{"id":1,"sent":"not a time.........."}}`,
		``,
	} {
		if _, _, ok := viewOfPayload([]byte(p)); ok {
			t.Errorf("viewOfPayload(%s) accepted", p)
		}
	}
}

func TestRoomJoinedIsSharedUntilSomethingChanges(t *testing.T) {
	base := time.Now().UTC()
	var r recent
	_, _, _, v := r.roomJoined("r", []byte(`[]`), HistoryOnJoin, 0)
	r.fill(viewsFrom([]store.Message{testMessage(1, 0, base)}), v)
	members := mustJSON([]string{"alice"})
	a, upTo, ok, _ := r.roomJoined("r", members, HistoryOnJoin, 0)
	b, _, _, _ := r.roomJoined("r", members, HistoryOnJoin, 0)
	if !ok || upTo != 1 || &a[0] != &b[0] {
		t.Fatalf("ok %v, upTo %d, shared %v", ok, upTo, &a[0] == &b[0])
	}
	want := encodeRoomJoined("r", members, viewsFrom([]store.Message{testMessage(1, 0, base)}), nil)
	if string(a) != string(want) {
		t.Fatalf("room_joined %s, want %s", a, want)
	}
	// Same text, other slice: not the room's shared members, built anew.
	if c, _, _, _ := r.roomJoined("r", mustJSON([]string{"alice"}), HistoryOnJoin, 0); &c[0] == &a[0] || string(c) != string(a) {
		t.Fatal("other members JSON reused the cached event, or changed it")
	}
	r.delivered(2, 1, EncodeNewMessage(testMessage(2, 1, base)))
	d, upTo, _, _ := r.roomJoined("r", members, HistoryOnJoin, 0)
	if upTo != 2 || !strings.Contains(string(d), `"id":2`) {
		t.Fatalf("after message 2: upTo %d, %s", upTo, d)
	}
	if e, upTo, _, _ := r.roomJoined("r", members, 1, 0); upTo != 2 || strings.Contains(string(e), `"id":1,`) {
		t.Fatalf("keep 1: upTo %d, %s", upTo, e)
	}
}

// room_joined on connect: from the store for a room's first member, from
// the cache for later ones, the same either way, and without what
// retention deletes.
func TestJoinHistoryFromCacheMatchesStore(t *testing.T) {
	h := newHub(t, Config{Retention: store.Retention{MaxPerRoom: 3}})
	ctx := context.Background()
	a := connect(t, h, "ann")
	drain(t, a)
	for i := range 5 {
		a.Handle(ctx, []byte(fmt.Sprintf(`{"type":"send_message","payload":{"message":"m%d"}}`, i+1)))
	}
	drain(t, a)
	history := func(c *Client) string {
		evs := drain(t, c)
		if len(evs) == 0 || evs[0].Type != TypeRoomJoined {
			t.Fatalf("first event %q", types(evs))
		}
		var p struct{ History []messageView }
		if err := json.Unmarshal(evs[0].Payload, &p); err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, m := range p.History {
			s = append(s, fmt.Sprint(m.ID, ":", m.Message))
		}
		return strings.Join(s, " ")
	}
	// The room's cache is live (ann is in it): bo's join is served from it.
	b := connect(t, h, "bo")
	fromCache := history(b)
	if fromCache != "3:m3 4:m4 5:m5" {
		t.Fatalf("bo's history %q", fromCache)
	}
	// Everyone leaves, so the room and its cache go; the next join reads
	// the store.
	h.Disconnect(a)
	h.Disconnect(b)
	c := connect(t, h, "cy")
	if fromStore := history(c); fromStore != fromCache {
		t.Fatalf("from the store %q, from the cache %q", fromStore, fromCache)
	}
}

// panickyStore fails History with a panic, as a bug in a store would.
type panickyStore struct{ store.Store }

func (panickyStore) History(context.Context, string, int64, int) ([]store.Message, error) {
	panic("store bug")
}

// A panic while connecting reaches the caller, and leaves nothing behind
// for Shutdown to wait for.
func TestPanicWhileConnectingLeavesNoClient(t *testing.T) {
	h := newHub(t, Config{})
	h.cfg.Store = panickyStore{h.cfg.Store}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("Connect did not pass the panic on")
			}
		}()
		_, _ = h.Connect(context.Background(), "ann", "s")
	}()
	h.mu.RLock()
	n, rooms := len(h.clients), len(h.rooms)
	h.mu.RUnlock()
	if n != 0 || rooms != 0 {
		t.Fatalf("%d clients and %d rooms left after the panic", n, rooms)
	}
}
