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
// enqueue under mu, and exactly one goroutine at a time drains it: the
// hub's flusher (with a direct function installed, for a connection with
// no writer running; see push) or the connection's writer. Enqueue never
// blocks; when the queue is over its bounds the client is evicted instead.
//
// The writer runs only while there is work. Once the transport has
// installed it with StartWriter, the client starts it in a new goroutine
// whenever something arrives for an idle connection (a frame, a ping
// request, a close); it drains the queue with Next and ends when Next
// reports nothing left. So at most one writer runs, and an idle connection
// has none. Without StartWriter, a writer may instead wait on Wake and
// drain with Take.
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

	run      func() // the writer installed by StartWriter
	running  bool   // a writer is running (or about to)
	final    bool   // the writer has finished for good: none starts again
	ping     bool   // a ping is due
	pong     bool   // a pong is due, with pongData
	pongData []byte
	exited   chan struct{} // closed when the running writer ends, for WaitWriter
	direct   func(frames [][]byte) (rest []byte, ok bool)
	head     []byte   // the unsent rest of a frame written directly
	fl       *flusher // writes the queue directly when no writer runs
	dirty    bool     // c is on fl's list
}

// Batch is what the writer is to send next, filled by Next: the rest of a
// frame written in part by the direct function, then a pong when due,
// then the queued frames in order, then a ping when due, then the close
// frame when
// Close is set (Code 0: close the connection without a close frame).
type Batch struct {
	Head   []byte // bytes to write as they are, first: the rest of a frame
	Frames [][]byte
	Ping   bool
	// Pong asks for a pong with PongData, the answer to the peer's ping.
	Pong     bool
	PongData []byte
	Close    bool
	Code     int
	Reason   string
}

type pendingFrame struct {
	id      int64
	payload []byte
}

// User returns the authenticated username.
func (c *Client) User() string { return c.user }

// Wake is signalled (capacity 1, never closed) whenever there is something
// for the writer: queued frames or a close request. Once StartWriter has
// installed a writer, frames no longer signal it.
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
//
// With a direct function installed and no writer running, the frame is
// only queued and the client put on its flusher's list (once); the flusher
// then hands everything queued meanwhile to the socket in one write. So a
// frame for an idle connection needs no goroutine of its own, and when
// deliveries outpace the flusher, each write carries several frames.
func (c *Client) push(payload []byte) bool {
	if len(c.queue) >= c.hub.cfg.QueueFrames || c.qbytes+len(payload) > c.hub.cfg.QueueBytes {
		return false
	}
	c.queue = append(c.queue, payload)
	c.qbytes += len(payload)
	if c.direct != nil && !c.running && !c.final && len(c.head) == 0 {
		if !c.dirty {
			c.dirty = true
			c.fl.add(c)
		}
		return true
	}
	if c.run != nil {
		if c.needWriter() {
			go c.run()
		}
		return true
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

// flushQueued is the flusher's work for c: everything queued goes to the
// socket in one direct write, under the client's lock, which keeps it the
// only writer meanwhile. What does not fit in the socket's buffer, or
// meets an error, is left to a writer goroutine. Nothing happens once a
// writer runs (it sends the queue itself) or the client has finished.
func (c *Client) flushQueued() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dirty = false
	if c.running || c.final || len(c.queue) == 0 || len(c.head) > 0 {
		return
	}
	rest, ok := c.direct(c.queue)
	if ok {
		clear(c.queue)
		c.queue, c.qbytes = c.queue[:0], 0
		if cap(c.queue) > 64 {
			c.queue = nil
		}
		if len(rest) == 0 {
			return
		}
		c.head = rest
	}
	if c.needWriter() {
		go c.run()
	}
}

// needWriter reports whether the caller must start the writer, and marks
// it running if so; c.mu is held and there is work for the writer.
func (c *Client) needWriter() bool {
	if c.run == nil || c.running || c.final {
		return false
	}
	c.running = true
	return true
}

// StartWriter installs the connection's writer, run, and starts it when
// something is already queued. From then on the client starts run, in a
// new goroutine, whenever there is work and no writer is running; run must
// loop on Next until it returns false. Call it once.
func (c *Client) StartWriter(run func()) {
	c.mu.Lock()
	c.run = run
	// Frames the flusher is about to write need no writer.
	start := ((len(c.queue) > 0 && !c.dirty) || len(c.head) > 0 || c.closing || c.ping || c.pong) && c.needWriter()
	c.mu.Unlock()
	if start {
		go run()
	}
}

// Next fills b with what the writer is to send next and returns true, or
// returns false when there is nothing: the writer must then return at once
// without touching the connection, and a later event starts a new one. The
// frames handed over in b.Frames belong to the writer, which passes the
// same Batch back (frames cleared) so that slices are reused; after a
// batch with Close set, Next returns false.
func (c *Client) Next(b *Batch) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	b.Head, b.Ping, b.Close, b.Code, b.Reason = nil, false, false, 0, ""
	b.Pong, b.PongData = false, nil
	if c.final || (len(c.queue) == 0 && len(c.head) == 0 && !c.ping && !c.pong && !c.closing) {
		// Nothing to do: the writer ends, holding nothing.
		b.Frames = nil
		c.queue = nil
		c.running = false
		if c.closing {
			c.final = true
		}
		if c.exited != nil {
			close(c.exited)
			c.exited = nil
		}
		return false
	}
	cut := false // a frame is half written: no close frame can follow it
	if c.closing && c.drop {
		clear(c.queue)
		cut = len(c.head) > 0
		c.queue, c.head, b.Frames = nil, nil, b.Frames[:0]
	} else {
		b.Frames, c.queue = c.queue, b.Frames[:0]
		b.Head, c.head = c.head, nil
	}
	c.qbytes = 0
	b.Ping, c.ping = c.ping && !c.closing, false
	b.Pong, b.PongData = c.pong && !c.closing, c.pongData
	c.pong, c.pongData = false, nil
	if c.closing {
		b.Close, b.Code, b.Reason = true, c.code, c.reason
		if cut {
			b.Code, b.Reason = 0, ""
		}
		c.final = true
	}
	return true
}

// Ping asks the writer to send a ping, and runs the writer in the calling
// goroutine (a timer's) when none is running. It returns false once the
// client is closing: no more pings are wanted.
func (c *Client) Ping() bool {
	c.mu.Lock()
	if c.closing || c.final {
		c.mu.Unlock()
		return false
	}
	c.ping = true
	start := c.needWriter()
	c.mu.Unlock()
	if start {
		c.run()
	}
	return true
}

// Pong asks the writer to answer the peer's ping with payload (a later
// ping replaces an unanswered one, as RFC 6455 allows). It does nothing once
// the client is closing.
func (c *Client) Pong(payload []byte) {
	c.mu.Lock()
	if c.closing || c.final {
		c.mu.Unlock()
		return
	}
	c.pong, c.pongData = true, payload
	start := c.needWriter()
	c.mu.Unlock()
	if start {
		go c.run()
	}
}

// WaitWriter returns once no writer is running and none will start again.
// Call it after Close, before the transport lets go of the connection.
func (c *Client) WaitWriter() {
	c.mu.Lock()
	if !c.running {
		c.final = true
		c.mu.Unlock()
		return
	}
	if c.exited == nil {
		c.exited = make(chan struct{})
	}
	ch := c.exited
	c.mu.Unlock()
	<-ch
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
	start := c.needWriter()
	c.mu.Unlock()
	if start {
		go c.run()
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
	if drop && abort != nil {
		abort()
	}
}
