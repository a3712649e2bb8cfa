package chat

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"
	"time"
)

// recent is a room's newest messages (at most HistoryOnJoin), already
// encoded as room_joined's history entries, kept while the room has members
// on this node, so that a join needs no store read and no JSON encoding of
// its history. It is filled from one store read and then follows the
// messages the room's deliveries carry.
//
// It is only ever used when it is exactly what the store would say:
//   - It is filled only when no message was delivered to the room while
//     the store was read (version), so that nothing delivered before the
//     fill can be missing from it.
//   - A delivered message is appended only when its Prev is the newest
//     message held; any other delivery (a gap, a broker that could not say)
//     empties it until the next fill.
//   - The messages a delivery carries are in id order, each room's one at
//     a time (the broker's contract), and under Hub.mu for reading, so a
//     member that joined after a message was delivered finds it here, and
//     one that joined before gets it live.
//
// Messages that retention deletes are left out as the store would leave
// them out: the age limit is applied when a join reads the cache, the
// per-room count by taking fewer.
type recent struct {
	mu      sync.Mutex
	valid   bool
	version uint64 // messages delivered to the room, for fill
	msgs    []cachedView

	// The last room_joined built from msgs, and what it was built from:
	// in a reconnect storm most joins find the same members and messages,
	// so they share one encoded event (nobody modifies it).
	joined        []byte
	joinedVersion uint64
	joinedFirst   int64
	joinedCount   int
	joinedMembers []byte // the members JSON, compared by identity
}

type cachedView struct {
	id   int64
	sent int64  // Unix milliseconds
	view []byte // the messageView JSON
}

// newMessagePrefix is how EncodeNewMessage's output starts; the rest, but
// for the closing brace, is the message's view.
var newMessagePrefix = []byte(`{"type":"new_message","payload":`)

// delivered records a delivered event; id 0 (not a message) is ignored.
func (r *recent) delivered(id, prev int64, payload []byte) {
	if id == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.version++
	if !r.valid {
		return
	}
	var newest int64
	if n := len(r.msgs); n > 0 {
		newest = r.msgs[n-1].id
	}
	if id <= newest {
		return // a repeat: already held
	}
	view, sent, ok := viewOfPayload(payload)
	if prev != newest || !ok {
		r.valid, r.msgs = false, nil
		return
	}
	if len(r.msgs) == HistoryOnJoin {
		copy(r.msgs, r.msgs[1:])
		r.msgs = r.msgs[:HistoryOnJoin-1]
	}
	r.msgs = append(r.msgs, cachedView{id: id, sent: sent, view: view})
}

// viewOfPayload takes the view out of an encoded new_message event, and
// its send time (the view's last field).
func viewOfPayload(p []byte) (view []byte, sentMS int64, ok bool) {
	if !bytes.HasPrefix(p, newMessagePrefix) || len(p) < len(newMessagePrefix)+2 || p[len(p)-1] != '}' {
		return nil, 0, false
	}
	view = p[len(newMessagePrefix) : len(p)-1 : len(p)-1] // no room to append into the shared payload
	const tail = len(`"sent":"2006-01-02T15:04:05.000Z"}`)
	if len(view) < tail || !bytes.HasPrefix(view[len(view)-tail:], []byte(`"sent":"`)) {
		return nil, 0, false
	}
	t, err := time.Parse(SentFormat, string(view[len(view)-tail+len(`"sent":"`):len(view)-2]))
	if err != nil {
		return nil, 0, false
	}
	return view, t.UnixMilli(), true
}

// roomJoined returns room_joined for room with the cached messages (the
// newest keep of those sent at or after notBefore) and membersJSON, and the
// newest message id in it; ok is false when the cache is not valid, and
// version is then what to pass to fill. membersJSON is compared by
// identity: a caller that passes the room's shared members JSON gets the
// event built last time when nothing changed since.
func (r *recent) roomJoined(room string, membersJSON []byte, keep int, notBefore int64) (payload []byte, upTo int64, ok bool, version uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.valid {
		return nil, 0, false, r.version
	}
	msgs := window(r.msgs, keep, notBefore)
	var first int64
	if len(msgs) > 0 {
		first, upTo = msgs[0].id, msgs[len(msgs)-1].id
	}
	if r.joined != nil && r.joinedVersion == r.version && r.joinedFirst == first && r.joinedCount == len(msgs) &&
		len(r.joinedMembers) == len(membersJSON) && len(membersJSON) > 0 && &r.joinedMembers[0] == &membersJSON[0] {
		return r.joined, upTo, true, r.version
	}
	payload = encodeRoomJoined(room, membersJSON, msgs, nil)
	r.joined, r.joinedVersion, r.joinedFirst, r.joinedCount, r.joinedMembers = payload, r.version, first, len(msgs), membersJSON
	return payload, upTo, true, r.version
}

// fill installs views, the room's newest HistoryOnJoin messages as read
// from the store after version was taken, unless a message was delivered
// since. The cache owns views from then on.
func (r *recent) fill(views []cachedView, version uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.valid || r.version != version {
		return
	}
	r.valid, r.msgs = true, views
}

// encodeRoomJoined renders room_joined with its members and history
// entries already encoded (recovered nil: no "recovered" field).
func encodeRoomJoined(room string, membersJSON []byte, history []cachedView, recovered *bool) []byte {
	size := 64 + len(room) + len(membersJSON)
	for _, h := range history {
		size += len(h.view) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"type":"room_joined","payload":{"room":`...)
	b = appendJSON(b, room)
	b = append(b, `,"members":`...)
	b = append(b, membersJSON...)
	b = append(b, `,"history":[`...)
	for i, h := range history {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, h.view...)
	}
	b = append(b, ']')
	if recovered != nil {
		b = append(b, `,"recovered":`...)
		b = strconv.AppendBool(b, *recovered)
	}
	return append(b, "}}"...)
}

func appendJSON(b []byte, v any) []byte { return append(b, mustJSON(v)...) }

// mustJSON encodes one of our own types, which cannot fail.
func mustJSON(v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		panic("chat: cannot encode: " + err.Error())
	}
	return j
}
