package chat

import (
	"sync"

	"golang.org/x/time/rate"
)

// Close codes the hub asks the transport to send.
const (
	CloseGoingAway     = 1001 // server shutting down
	ClosePolicy        = 1008 // logged out
	CloseTryAgainLater = 1013 // send queue full: a slow consumer
	CloseInternal      = 1011
)

// Client is the chat state of one WebSocket connection.
//
// Concurrency: room is owned by the connection's read loop (the goroutine
// that calls Handle). The outgoing queue is shared: any goroutine may
// enqueue under mu, and exactly one goroutine, the connection's writer,
// drains it with Take after each signal on Wake. Enqueue never blocks; when
// the queue is over its bounds the client is evicted instead.
type Client struct {
	hub     *Hub
	user    string
	session string
	limiter *rate.Limiter

	room   string // the room events are handled in; read loop only
	joined string // the room the hub counts c in; guarded by Hub.mu

	mu      sync.Mutex
	queue   [][]byte
	qbytes  int
	joining bool           // buffering live events until room_joined is queued
	seen    int64          // the newest message id queued for the current room
	pending []pendingFrame // live events that arrived while joining
	closing bool
	drop    bool // discard the queue instead of flushing it before the close
	code    int
	reason  string
	abort   func()
	wake    chan struct{}
}

type pendingFrame struct {
	id      int64
	payload []byte
}

// User returns the authenticated username.
func (c *Client) User() string { return c.user }

// Wake is signalled (capacity 1, never closed) whenever there is something
// for the writer: queued frames or a close request.
func (c *Client) Wake() <-chan struct{} { return c.wake }

// SetAbort installs a function that unblocks the writer at once (for
// instance by moving the socket's write deadline to now); the hub calls it
// when it evicts a slow client. Call before the writer starts.
func (c *Client) SetAbort(f func()) {
	c.mu.Lock()
	c.abort = f
	c.mu.Unlock()
}

// Take moves every queued frame into dst and returns it. When a close was
// requested it also returns the close code and reason; the writer sends the
// returned frames, then the close frame, and stops.
func (c *Client) Take(dst [][]byte) (frames [][]byte, closing bool, code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing && c.drop {
		c.queue, c.qbytes = nil, 0
		return dst, true, c.code, c.reason
	}
	dst = append(dst, c.queue...)
	clear(c.queue)
	c.queue, c.qbytes = c.queue[:0], 0
	if cap(c.queue) > 64 {
		c.queue = nil // do not keep a big backing array for an idle client
	}
	return dst, c.closing, c.code, c.reason
}

// enqueue adds a frame for this client. id > 0 marks a new_message. It
// returns false when the queue is full: the caller must evict the client.
func (c *Client) enqueue(id int64, payload []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return true
	}
	if c.joining {
		if len(c.pending) >= c.hub.cfg.QueueFrames {
			return false
		}
		c.pending = append(c.pending, pendingFrame{id, payload})
		return true
	}
	if id != 0 {
		if id <= c.seen {
			return true // already sent, in room_joined's history or live
		}
		c.seen = id
	}
	return c.push(payload)
}

// push queues a frame; c.mu is held.
func (c *Client) push(payload []byte) bool {
	if len(c.queue) >= c.hub.cfg.QueueFrames || c.qbytes+len(payload) > c.hub.cfg.QueueBytes {
		return false
	}
	c.queue = append(c.queue, payload)
	c.qbytes += len(payload)
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

// beginJoin starts buffering live events for a room being (re)joined.
func (c *Client) beginJoin() {
	c.mu.Lock()
	c.joining = true
	c.pending = nil
	c.mu.Unlock()
}

// finishJoin queues room_joined, then the live events buffered meanwhile,
// skipping the messages room_joined already holds (id <= upTo). From then
// on a message is queued only when its id is above every one queued
// before, so a late or repeated delivery never reaches the client twice or
// out of order.
func (c *Client) finishJoin(roomJoined []byte, upTo int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.joining = false
	pending := c.pending
	c.pending = nil
	if c.closing {
		return true
	}
	if !c.push(roomJoined) {
		return false
	}
	c.seen = upTo
	for _, p := range pending {
		if p.id != 0 {
			if p.id <= c.seen {
				continue
			}
			c.seen = p.id
		}
		if !c.push(p.payload) {
			return false
		}
	}
	return true
}

// Closing reports whether a close has been requested; the read loop then
// ignores further events while it waits for the peer's close frame.
func (c *Client) Closing() bool { return c.isClosing() }

func (c *Client) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// Close asks the writer to close the connection with code and reason. With
// drop, frames still queued are discarded and the writer is interrupted;
// otherwise they are flushed first. Only the first call counts.
func (c *Client) Close(code int, reason string, drop bool) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing, c.drop, c.code, c.reason = true, drop, code, reason
	abort := c.abort
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	if drop && abort != nil {
		abort()
	}
}
