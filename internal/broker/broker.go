// Package broker carries room events between the hubs of a cluster. The
// default, Local, delivers in process; the Redis broker (package cluster)
// joins several nodes.
package broker

import (
	"context"
	"sync"
)

// Event is one room event as the broker carries it. Payload is the encoded
// event, shared by every recipient: nobody may modify it.
type Event struct {
	// ID is the message id of a new_message event, 0 for other events
	// (joins, leaves, typing).
	ID int64
	// Prev is the id of the room's message stored just before this one (0
	// for the first); brokers that can reorder use it to put messages back
	// in id order. 0 for non-message events.
	Prev int64
	// Except names a user whose connections must not get the event (the
	// subject of user_joined, user_left and typing); empty for none.
	Except  string
	Payload []byte
}

// Handler receives every event published to a room this node subscribes
// to. A broker calls it for one room at a time, in the room's order; it
// must not block.
type Handler func(room string, e Event)

// Source gives a broker the stored messages it needs to fill a gap in what
// it received (after a lost publication or a reconnect). The hub
// implements it over the store.
type Source interface {
	// Newest returns the id of the room's newest stored message, 0 for none.
	Newest(ctx context.Context, room string) (int64, error)
	// After returns up to limit of the room's messages with ids above
	// after, oldest first, as new_message events.
	After(ctx context.Context, room string, after int64, limit int) ([]Event, error)
}

// Broker fans room events out to every node that has members in the room.
//
// Every subscriber must receive a room's messages (events with an ID) in
// increasing id order, each once.
type Broker interface {
	// Publish sends an event to every node subscribed to room, this one
	// included. A failure to reach other nodes is returned after the local
	// delivery has been made.
	Publish(ctx context.Context, room string, e Event) error
	// Subscribe starts delivering room's events to this node's handler. It
	// does not wait: Ready does.
	Subscribe(room string) error
	// Ready waits until the subscription to room is live: every message
	// stored after Ready returns will be delivered. Call it after
	// Subscribe and before reading a room's history for a new member.
	Ready(ctx context.Context, room string) error
	// Unsubscribe stops delivering room's events to this node.
	Unsubscribe(room string) error
	// Close stops the broker.
	Close() error
}

// NewFunc builds a broker that delivers to h and fills gaps from src.
type NewFunc func(h Handler, src Source) (Broker, error)

// Local is the single-node broker: Publish calls the handler directly, in
// the publisher's goroutine, for rooms that are subscribed. The hub
// publishes messages from one goroutine in id order, so they arrive in
// order.
type Local struct {
	handler Handler
	mu      sync.RWMutex
	rooms   map[string]struct{}
}

var _ Broker = (*Local)(nil)

// NewLocal returns an in-process broker that delivers to h.
func NewLocal(h Handler) *Local {
	return &Local{handler: h, rooms: make(map[string]struct{})}
}

// Publish delivers to the handler when room is subscribed.
func (l *Local) Publish(_ context.Context, room string, e Event) error {
	l.mu.RLock()
	_, ok := l.rooms[room]
	l.mu.RUnlock()
	if ok {
		l.handler(room, e)
	}
	return nil
}

// Subscribe marks room as having local members.
func (l *Local) Subscribe(room string) error {
	l.mu.Lock()
	l.rooms[room] = struct{}{}
	l.mu.Unlock()
	return nil
}

// Ready returns at once: a local subscription is live when made.
func (l *Local) Ready(context.Context, string) error { return nil }

// Unsubscribe marks room as having no local members.
func (l *Local) Unsubscribe(room string) error {
	l.mu.Lock()
	delete(l.rooms, room)
	l.mu.Unlock()
	return nil
}

// Close does nothing: Local holds no resources.
func (l *Local) Close() error { return nil }
