// Package broker carries room events between the hubs of a cluster. The
// default, Local, delivers in process; a Redis broker joins several nodes.
package broker

import (
	"context"
	"sync"
)

// Handler receives every event published to a room this node subscribes to.
// id is the message id for new_message events and 0 for others (joins,
// leaves, typing). payload is the encoded event, shared by all recipients:
// handlers must not modify it.
type Handler func(room string, id int64, payload []byte)

// Broker fans room events out to every node that has members in the room.
//
// Publish must deliver a room's events to each subscriber in the order they
// were published by this node.
type Broker interface {
	// Publish sends an event to every node subscribed to room, this one
	// included.
	Publish(ctx context.Context, room string, id int64, payload []byte) error
	// Subscribe starts delivering room's events to this node's handler.
	Subscribe(room string) error
	// Unsubscribe stops delivering room's events to this node.
	Unsubscribe(room string) error
	// Close stops the broker.
	Close() error
}

// Local is the single-node broker: Publish calls the handler directly, in
// the publisher's goroutine, for rooms that are subscribed.
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
func (l *Local) Publish(_ context.Context, room string, id int64, payload []byte) error {
	l.mu.RLock()
	_, ok := l.rooms[room]
	l.mu.RUnlock()
	if ok {
		l.handler(room, id, payload)
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

// Unsubscribe marks room as having no local members.
func (l *Local) Unsubscribe(room string) error {
	l.mu.Lock()
	delete(l.rooms, room)
	l.mu.Unlock()
	return nil
}

// Close does nothing: Local holds no resources.
func (l *Local) Close() error { return nil }
