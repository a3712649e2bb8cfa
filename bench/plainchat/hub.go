package main

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/gorilla/websocket"
)

// room is one chat room; only the hub goroutine touches it.
type room struct {
	name    string
	clients map[*client]struct{}
	users   map[string]int // connections per user, so a user counts once
	lastID  int64
}

// request is an event a reader hands to the hub.
type request struct {
	c  *client
	ev inEvent
	ok bool // false when the frame was not a JSON event
}

// Hub owns the rooms and every client's room membership and send queue.
//
// Concurrency: one goroutine, Run, owns rooms and every client's room and
// evicted fields, and is the only one that sends on or closes a client's
// send channel. Others reach it through Register, Unregister and Submit,
// which never block once Run has returned.
type Hub struct {
	register   chan *client
	unregister chan *client
	inbound    chan request
	done       chan struct{} // closed when Run returns
	rooms      map[string]*room
}

// NewHub returns a hub; start it with Run.
func NewHub() *Hub {
	return &Hub{
		register:   make(chan *client),
		unregister: make(chan *client),
		inbound:    make(chan request, 256),
		done:       make(chan struct{}),
		rooms:      map[string]*room{},
	}
}

// Register puts c in room general; it reports false when the hub has stopped.
func (h *Hub) Register(c *client) bool {
	select {
	case h.register <- c:
		return true
	case <-h.done:
		return false
	}
}

// Unregister takes c out of its room and closes its send queue, if the hub
// has not done so already.
func (h *Hub) Unregister(c *client) {
	select {
	case h.unregister <- c:
	case <-h.done:
	}
}

// Submit hands a client event to the hub.
func (h *Hub) Submit(r request) {
	select {
	case h.inbound <- r:
	case <-h.done:
	}
}

// Run serves until ctx ends, then closes every client with code 1001.
func (h *Hub) Run(ctx context.Context) {
	defer close(h.done)
	for {
		select {
		case c := <-h.register:
			h.join(c, "general")
			h.push(c, encode("room_joined", h.joined(c.room)))
		case c := <-h.unregister:
			if !c.evicted {
				h.evict(c, websocket.CloseNormalClosure)
			}
		case r := <-h.inbound:
			if !r.c.evicted {
				h.handle(r)
			}
		case <-ctx.Done():
			for _, rm := range h.rooms {
				for c := range rm.clients {
					h.evict(c, websocket.CloseGoingAway)
				}
			}
			return
		}
	}
}

// handle answers one client event.
func (h *Hub) handle(r request) {
	c, ev := r.c, r.ev
	if !r.ok {
		h.fail(c, "bad_request", "not a JSON event", "")
		return
	}
	switch ev.Type {
	case "change_room":
		var p struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(ev.Payload, &p) != nil || !validRoom(p.Name) {
			h.fail(c, "bad_request", "bad room name", ev.ID)
			return
		}
		if p.Name != c.room.name {
			h.leave(c)
			h.join(c, p.Name)
		}
		h.push(c, encode("room_joined", h.joined(c.room)))
		if ev.ID != "" {
			h.push(c, encode("ack", ack{ID: ev.ID}))
		}
	case "send_message":
		var p struct {
			Message string `json:"message"`
		}
		text, ok := "", false
		if json.Unmarshal(ev.Payload, &p) == nil {
			text, ok = cleanMessage(p.Message)
		}
		if !ok {
			h.fail(c, "bad_request", "a message has 1 to 1000 characters", ev.ID)
			return
		}
		rm := c.room
		rm.lastID++
		msg := encode("new_message", newMessage{ID: rm.lastID, Room: rm.name, From: c.user, Message: text, Sent: sentTime(time.Now())})
		for m := range rm.clients {
			h.push(m, msg)
		}
		if ev.ID != "" && !c.evicted {
			h.push(c, encode("ack", ack{ID: ev.ID, MessageID: rm.lastID}))
		}
	default:
		h.fail(c, "unknown_event", "unknown event type", ev.ID)
	}
}

// fail sends an error event to c.
func (h *Hub) fail(c *client, code, msg, id string) {
	h.push(c, encode("error", errorPayload{Code: code, Message: msg, ID: id}))
}

// push queues msg for c without blocking; a full queue evicts c.
func (h *Hub) push(c *client, msg []byte) {
	if c.evicted {
		return
	}
	select {
	case c.send <- msg:
	default:
		h.evict(c, websocket.CloseTryAgainLater)
	}
}

// evict removes c from its room and closes its queue; its writer then sends
// a close frame with code and ends the connection.
func (h *Hub) evict(c *client, code int) {
	h.leave(c)
	c.evicted = true
	c.closeCode = code
	close(c.send)
}

// join adds c to the room called name.
func (h *Hub) join(c *client, name string) {
	rm := h.rooms[name]
	if rm == nil {
		rm = &room{name: name, clients: map[*client]struct{}{}, users: map[string]int{}}
		h.rooms[name] = rm
	}
	rm.clients[c] = struct{}{}
	rm.users[c.user]++
	c.room = rm
}

// leave takes c out of its room, dropping the room when it empties.
func (h *Hub) leave(c *client) {
	rm := c.room
	if rm == nil {
		return
	}
	delete(rm.clients, c)
	if rm.users[c.user]--; rm.users[c.user] == 0 {
		delete(rm.users, c.user)
	}
	if len(rm.clients) == 0 {
		delete(h.rooms, rm.name)
	}
	c.room = nil
}

// joined builds the room_joined payload of rm.
func (h *Hub) joined(rm *room) roomJoined {
	members := make([]string, 0, len(rm.users))
	for u := range rm.users {
		members = append(members, u)
	}
	slices.Sort(members)
	return roomJoined{Room: rm.name, Members: members, History: []newMessage{}}
}
