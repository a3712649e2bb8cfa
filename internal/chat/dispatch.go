package chat

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/store"
)

// Limits of the contract.
const (
	MaxMessageRunes = 1000
	MaxRoomName     = 64
	HistoryOnJoin   = 50
	MaxRecovered    = 500
	MaxHistoryLimit = 100
)

// handler answers one decoded event. It queues any events it produces and
// returns the ack's message id (0 for none) or an error for the `error`
// event; the dispatcher sends the ack or the error, last, when the event
// carried an id.
type handler func(c *Client, ctx context.Context, in Inbound) (int64, *Error)

// handlers routes client events by type.
var handlers = map[string]handler{
	TypeSendMessage: (*Client).handleSend,
	TypeChangeRoom:  (*Client).handleChangeRoom,
	TypeTyping:      (*Client).handleTyping,
	TypeHistory:     (*Client).handleHistory,
}

// Handle processes one text frame from the client. It must be called only
// from the connection's read loop, one frame at a time; it may block while a
// message is committed.
func (c *Client) Handle(ctx context.Context, data []byte) {
	c.hub.framesIn.Add(1)
	in, perr := DecodeEvent(data)
	if !c.limiter.Allow() {
		// Every frame counts against the limit, malformed ones included.
		c.hub.cfg.Metrics.RateLimited.Inc()
		perr = &Error{Code: CodeRateLimited, Message: "Too many events; slow down."}
	}
	if perr == nil {
		h, ok := handlers[in.Type]
		if !ok {
			perr = &Error{Code: CodeUnknownEvent, Message: "Unknown event type."}
		} else {
			var msgID int64
			if msgID, perr = h(c, ctx, in); perr == nil {
				if in.ID != nil {
					c.send(encodeAck(in.ID, msgID))
				}
				return
			}
		}
	}
	c.send(encodeError(perr, in.ID))
}

// send queues an event for this client only, evicting it when its queue is
// full.
func (c *Client) send(payload []byte) {
	if !c.enqueue(0, payload) {
		c.hub.evict(c)
	}
}

func (c *Client) handleSend(ctx context.Context, in Inbound) (int64, *Error) {
	var p struct {
		Message *string `json:"message"`
	}
	if err := decodePayload(in.Payload, &p); err != nil {
		return 0, err
	}
	if p.Message == nil {
		return 0, badRequest("'message' is required.")
	}
	text := strings.TrimSpace(*p.Message)
	if n := utf8.RuneCountInString(text); n < 1 || n > MaxMessageRunes {
		return 0, badRequest("A message is 1 to 1000 characters after trimming white space.")
	}
	m, err := c.hub.writer.Write(ctx, store.Message{Room: c.room, From: c.user, Text: text})
	if err != nil {
		c.hub.log.Error("storing a message failed", "room", c.room, "err", err)
		return 0, &Error{Code: CodeUnavailable, Message: "The message could not be stored; try again."}
	}
	c.hub.cfg.Metrics.Received.Inc()
	return m.ID, nil
}

// ValidRoomName reports whether name is 1 to 64 characters of
// A-Z a-z 0-9 _ -
func ValidRoomName(name string) bool {
	if len(name) < 1 || len(name) > MaxRoomName {
		return false
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '_', ch == '-':
		default:
			return false
		}
	}
	return true
}

func (c *Client) handleChangeRoom(ctx context.Context, in Inbound) (int64, *Error) {
	var p struct {
		Name  *string         `json:"name"`
		Since json.RawMessage `json:"since"`
	}
	if err := decodePayload(in.Payload, &p); err != nil {
		return 0, err
	}
	if p.Name == nil || !ValidRoomName(*p.Name) {
		return 0, badRequest("A room name is 1 to 64 characters: letters, digits, '_' or '-'.")
	}
	since, perr := parseMessageID(p.Since, "since")
	if perr != nil {
		return 0, perr
	}
	hasSince := len(p.Since) > 0 && string(p.Since) != "null"
	return 0, c.hub.enterRoom(ctx, c, *p.Name, since, &hasSince)
}

func (c *Client) handleTyping(ctx context.Context, _ Inbound) (int64, *Error) {
	c.hub.typing(ctx, c)
	return 0, nil
}

func (c *Client) handleHistory(ctx context.Context, in Inbound) (int64, *Error) {
	var p struct {
		Before json.RawMessage `json:"before"`
		Limit  json.RawMessage `json:"limit"`
	}
	if err := decodePayload(in.Payload, &p); err != nil {
		return 0, err
	}
	before, perr := parseMessageID(p.Before, "before")
	if perr != nil {
		return 0, perr
	}
	limit, perr := parseMessageID(p.Limit, "limit")
	if perr != nil || limit < 1 || limit > MaxHistoryLimit {
		return 0, badRequest("'limit' is required: an integer from 1 to 100.")
	}
	msgs, err := c.hub.cfg.Store.History(ctx, c.room, before, int(limit))
	if err != nil {
		c.hub.log.Error("reading history failed", "room", c.room, "err", err)
		return 0, &Error{Code: CodeUnavailable, Message: "History is unavailable right now; try again."}
	}
	c.send(encode(TypeHistory, historyPage{Room: c.room, Messages: viewsOf(msgs)}))
	return 0, nil
}

// enterRoom moves c into roomName (or re-joins it) and queues room_joined
// with the room's recent history, or with what came after since. hasSince is
// nil on connect.
func (h *Hub) enterRoom(ctx context.Context, c *Client, roomName string, since int64, hasSince *bool) *Error {
	withSince := hasSince != nil && *hasSince
	var members []string
	if withSince {
		// A since beyond the room's newest message names no message.
		newest, err := h.cfg.Store.History(ctx, roomName, 0, 1)
		if err != nil {
			return h.unavailable("reading history failed", roomName, err)
		}
		if len(newest) > 0 && since > newest[0].ID {
			return badRequest("'since' is not a message of this room.")
		}
	}
	if c.room != roomName {
		if c.room != "" {
			h.leave(c)
		}
		c.room = roomName
		members = h.join(ctx, c, roomName)
	} else {
		members = h.rejoin(ctx, c, roomName)
	}
	if members == nil {
		return nil // the client is closing
	}
	// Only once the room's subscription is live does the history read
	// below cover everything that will not arrive live.
	if err := h.broker.Ready(ctx, roomName); err != nil {
		h.log.Error("subscribing to a room failed", "room", roomName, "err", err)
	}
	if !withSince {
		return h.joinedFromRecent(ctx, c, roomName, members)
	}
	history, complete, err := h.cfg.Store.Since(ctx, roomName, since, MaxRecovered)
	var failure *Error
	if err != nil {
		history = nil
		failure = h.unavailable("reading history failed", roomName, err)
	}
	var recovered *bool
	if failure == nil {
		recovered = &complete
	}
	upTo := since
	if n := len(history); n > 0 {
		upTo = history[n-1].ID
	}
	payload := encodeRoomJoined(roomName, mustJSON(orEmptyList(members)), viewsFrom(history), recovered)
	if !c.finishJoin(payload, upTo) {
		h.evict(c)
	}
	return failure
}

// joinedFromRecent queues room_joined with the room's newest messages: from
// the room's cache of them when it is valid, otherwise from the store
// (filling the cache). Messages retention deletes are left out either way.
func (h *Hub) joinedFromRecent(ctx context.Context, c *Client, roomName string, members []string) *Error {
	keep := HistoryOnJoin
	if n := h.cfg.Retention.MaxPerRoom; n > 0 && n < keep {
		keep = n
	}
	var notBefore int64
	if age := h.cfg.Retention.MaxAge; age > 0 {
		notBefore = h.cfg.Now().Add(-age).UnixMilli()
	}
	h.mu.RLock()
	r := h.rooms[roomName]
	if r != nil {
		// Only the room c is a member of: if c was dropped meanwhile, the
		// room may have gone and come back, subscribed anew, and a store
		// read from before that must not fill the new room's cache.
		if _, in := r.members[c]; !in {
			r = nil
		}
	}
	var membersJSON []byte
	if r != nil {
		membersJSON = r.membersJSON(members)
	} else {
		membersJSON = mustJSON(orEmptyList(members))
	}
	h.mu.RUnlock()
	var payload []byte
	var upTo int64
	var ok bool
	var version uint64
	if r != nil {
		payload, upTo, ok, version = r.recent.roomJoined(roomName, membersJSON, keep, notBefore)
	}
	var failure *Error
	if !ok {
		msgs, err := h.cfg.Store.History(ctx, roomName, 0, HistoryOnJoin)
		if err != nil {
			failure = h.unavailable("reading history failed", roomName, err)
		}
		all := viewsFrom(msgs)
		views := window(all, keep, notBefore)
		if n := len(views); n > 0 {
			upTo = views[n-1].id
		}
		payload = encodeRoomJoined(roomName, membersJSON, views, nil)
		if err == nil && r != nil {
			r.recent.fill(all, version) // after the encoding: the cache owns all from here
		}
	}
	if !c.finishJoin(payload, upTo) {
		h.evict(c)
	}
	return failure
}

// viewsFrom encodes msgs as the cache holds them.
func viewsFrom(msgs []store.Message) []cachedView {
	out := make([]cachedView, len(msgs))
	for i, m := range msgs {
		out[i] = cachedView{id: m.ID, sent: m.Sent.UnixMilli(), view: mustJSON(viewOf(m))}
	}
	return out
}

// window returns the newest keep of views (oldest first) without those
// sent before notBefore (Unix ms): what retention leaves of them.
func window(views []cachedView, keep int, notBefore int64) []cachedView {
	if len(views) > keep {
		views = views[len(views)-keep:]
	}
	for len(views) > 0 && views[0].sent < notBefore {
		views = views[1:]
	}
	return views
}

func (h *Hub) unavailable(what, roomName string, err error) *Error {
	if !errors.Is(err, context.Canceled) {
		h.log.Error(what, "room", roomName, "err", err)
	}
	return &Error{Code: CodeUnavailable, Message: "History is unavailable right now; try again."}
}
