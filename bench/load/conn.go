package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/internal/wsframe"
)

// Event is a server event the controlling goroutine of a Conn waits for:
// room_joined, and ack or error answers that are not about a load message.
type Event struct {
	Type string
	Room string
	Code string
	ID   string
}

// Conn is one client WebSocket connection speaking the Parley protocol.
//
// Concurrency: exactly one goroutine reads the socket: the goroutine of the
// poller Dial handed the connection to (on Linux), or one Dial started for
// it. It alone touches the delivery state of the connection and forwards
// events on a buffered channel without ever blocking. At any time at most one other
// goroutine writes data frames (first the set-up code, then, in the fanout
// scenario, the connection's sender); pongs and the final close may come
// from others, and wsConn writes one frame at a time.
type Conn struct {
	ws     *wsConn
	events chan Event
	done   chan struct{} // closed when the reader returns
	err    error         // why the reader returned; read after done is closed

	closing atomic.Bool  // set before we close the connection ourselves
	acked   atomic.Int64 // acks for load messages
	nacked  atomic.Int64 // error answers to load messages

	sink    *Tracker // deliveries go here; nil ignores new_message
	room    int      // this connection's room index, for misrouting checks
	seen    map[int]*bitset
	lastErr atomic.Pointer[string]

	poll *poller // reads the connection; nil: its own goroutine does
	fd   int     // the socket, while poll reads it
}

// DialConfig says how to reach the server.
type DialConfig struct {
	Target   string
	BaseURL  string
	SourceIP string // local address to dial from, empty for the default
	Timeout  time.Duration
}

// Dialer opens connections; it is safe for concurrent use.
type Dialer struct {
	cfg DialConfig
	nd  *net.Dialer
	api *API
	url *url.URL

	polls []*poller // read the connections, where the system has them
	turn  atomic.Uint32
}

// NewDialer prepares dialing with cfg; api is used for Parley tickets.
func NewDialer(cfg DialConfig, api *API) (*Dialer, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("base URL %q: want http or https", cfg.BaseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/ws"
	u.RawQuery, u.Fragment = "", ""
	nd := &net.Dialer{Control: bindNoPort} // Dial bounds dialing and the handshake by cfg.Timeout
	if cfg.SourceIP != "" {
		ip := net.ParseIP(cfg.SourceIP)
		if ip == nil {
			return nil, fmt.Errorf("source address %q is not an IP", cfg.SourceIP)
		}
		nd.LocalAddr = &net.TCPAddr{IP: ip}
	}
	d := &Dialer{cfg: cfg, nd: nd, api: api, url: u}
	if pollers {
		for range runtime.GOMAXPROCS(0) {
			p, err := newPoller()
			if err != nil {
				d.Close()
				return nil, fmt.Errorf("starting a poller: %w", err)
			}
			d.polls = append(d.polls, p)
		}
	}
	return d, nil
}

// Dial opens a connection as user (with its session cookie for Parley) and
// starts its reader. Deliveries of load messages are recorded in sink, if
// not nil, as seen by a member of room index room.
func (d *Dialer) Dial(ctx context.Context, s Session, sink *Tracker, room int) (*Conn, error) {
	q := url.Values{}
	if d.cfg.Target == TargetParley {
		t, err := d.api.Ticket(ctx, s.Cookie)
		if err != nil {
			return nil, err
		}
		q.Set("ticket", t)
	} else {
		q.Set("user", s.User)
	}
	u := *d.url
	u.RawQuery = q.Encode()
	if d.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.cfg.Timeout)
		defer cancel()
	}
	ws, err := wsDial(ctx, d.nd, &u)
	if err != nil {
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	c := &Conn{
		ws:     ws,
		events: make(chan Event, 16),
		done:   make(chan struct{}),
		sink:   sink,
		room:   room,
		seen:   map[int]*bitset{},
	}
	d.startReading(c)
	return c, nil
}

// startReading hands c to one of the dialer's pollers or, without one,
// starts a goroutine that reads it.
func (d *Dialer) startReading(c *Conn) {
	fd, ok := socketFD(c.ws.nc)
	if !ok || len(d.polls) == 0 {
		go c.read()
		return
	}
	// What came with the handshake's answer is taken here, before the
	// poller can read the socket.
	if err := c.takeAll(); err != nil {
		c.err = err
		close(c.done)
		return
	}
	p := d.polls[d.turn.Add(1)%uint32(len(d.polls))]
	if p.add(c, fd) != nil {
		go c.read()
		return
	}
	c.poll = p
}

// Close stops the dialer's pollers; close its connections first.
func (d *Dialer) Close() {
	for _, p := range d.polls {
		p.close()
	}
}

// envelope is every event, decoded in one pass.
type envelope struct {
	Type    string    `json:"type"`
	Payload inPayload `json:"payload"`
}

// inPayload holds the payload fields the load tool reads, of any event type.
type inPayload struct {
	ID      json.RawMessage `json:"id"`
	Room    string          `json:"room"`
	Message string          `json:"message"`
	Code    string          `json:"code"`
}

// read is the connection's reader when no poller reads it; see the Conn
// invariant.
func (c *Conn) read() {
	defer close(c.done)
	for {
		data, err := c.ws.next()
		if err != nil {
			c.err = err
			return
		}
		c.handle(data)
	}
}

// takeAll handles every whole message in the connection's buffer, and
// notes how much more a partial one needs.
func (c *Conn) takeAll() error {
	for {
		msg, need, err := c.ws.take()
		if err != nil {
			return err
		}
		if need > 0 {
			c.ws.need = need
			return nil
		}
		c.handle(msg)
	}
}

// handle acts on one message from the server; it runs on the connection's
// reader.
func (c *Conn) handle(data []byte) {
	if text, ok := fastMessage(data); ok {
		if c.sink != nil {
			c.deliver(text)
		}
		return
	}
	if ignored(data) {
		return
	}
	if room, ok := fastRoomJoined(data); ok {
		c.forward(Event{Type: "room_joined", Room: room})
		return
	}
	var env envelope
	if json.Unmarshal(data, &env) != nil {
		c.fail("undecodable event")
		return
	}
	p := &env.Payload
	switch env.Type {
	case "new_message":
		if c.sink != nil {
			c.deliver([]byte(p.Message))
		}
	case "ack", "error":
		var id string
		_ = json.Unmarshal(p.ID, &id)
		if strings.HasPrefix(id, "m") {
			if env.Type == "ack" {
				c.acked.Add(1)
			} else {
				c.nacked.Add(1)
				c.fail("send_message answered " + p.Code)
			}
			return
		}
		c.forward(Event{Type: env.Type, Code: p.Code, ID: id})
	case "room_joined":
		c.forward(Event{Type: env.Type, Room: p.Room})
	}
}

// fastMessage returns the text of a new_message event as both servers
// write it (type first, then the payload's fields with "message" among
// them) when that text has no escapes, as load texts do not. Anything else
// reports false and goes through encoding/json. At 100k deliveries per
// second a full JSON decode of each would take much of the load tool's
// core and cap what it can measure.
func fastMessage(data []byte) ([]byte, bool) {
	const head = `{"type":"new_message","payload":{`
	const field = `"message":"`
	if !bytes.HasPrefix(data, []byte(head)) {
		return nil, false
	}
	i := bytes.Index(data, []byte(field))
	if i < 0 {
		return nil, false
	}
	return plainBytes(data[i+len(field):])
}

// plainBytes returns the JSON string that rest starts inside of (its
// opening quote already passed) when it has no escapes, which a decoder
// would have to undo; ok is false otherwise, or when it does not end. The
// result shares rest's memory.
func plainBytes(rest []byte) ([]byte, bool) {
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return nil, false
	}
	return rest[:j], true
}

// plainString is plainBytes as a string of its own.
func plainString(rest []byte) (string, bool) {
	b, ok := plainBytes(rest)
	return string(b), ok
}

// fastRoomJoined returns the room of a room_joined event, read from its
// start (both servers put the room first), without decoding the history
// that follows: with 50 messages of it, a JSON decode per join would cost
// the load tool more than the server's whole join.
func fastRoomJoined(data []byte) (string, bool) {
	const head = `{"type":"room_joined","payload":{"room":"`
	if !bytes.HasPrefix(data, []byte(head)) {
		return "", false
	}
	room, ok := plainString(data[len(head):])
	return room, ok && room != ""
}

// ignored reports whether data is an event the load tool has no use for
// (presence and typing), told by its type alone: a storm of thousands of
// joins into one room brings each member thousands of user_joined events,
// and decoding each would make the load tool the bottleneck.
func ignored(data []byte) bool {
	for _, t := range []string{`{"type":"user_joined",`, `{"type":"user_left",`, `{"type":"typing",`} {
		if bytes.HasPrefix(data, []byte(t)) {
			return true
		}
	}
	return false
}

// forward hands ev to the controlling goroutine without blocking; an event
// nobody waits for is dropped.
func (c *Conn) forward(ev Event) {
	select {
	case c.events <- ev:
	default:
	}
}

// fail remembers the latest problem the reader saw.
func (c *Conn) fail(msg string) { c.lastErr.Store(&msg) }

// Problem returns the latest problem the reader saw, or "".
func (c *Conn) Problem() string {
	if p := c.lastErr.Load(); p != nil {
		return *p
	}
	return ""
}

// WaitRoom waits for room_joined for room; an error event fails it.
func (c *Conn) WaitRoom(ctx context.Context, room string) error {
	for {
		select {
		case ev := <-c.events:
			switch {
			case ev.Type == "room_joined" && ev.Room == room:
				return nil
			case ev.Type == "error":
				return fmt.Errorf("waiting for room_joined %s: error %s", room, ev.Code)
			}
		case <-c.done:
			if len(c.events) > 0 {
				// The reader queued events and ended in one pass (a poller
				// handles all it read at once): take them first.
				continue
			}
			return fmt.Errorf("waiting for room_joined %s: connection ended: %v", room, c.err)
		case <-ctx.Done():
			return fmt.Errorf("waiting for room_joined %s: %w", room, ctx.Err())
		}
	}
}

// ChangeRoom sends change_room and waits for room_joined.
func (c *Conn) ChangeRoom(ctx context.Context, room string) error {
	msg := `{"type":"change_room","payload":{"name":"` + room + `"}}`
	if err := c.write([]byte(msg)); err != nil {
		return err
	}
	return c.WaitRoom(ctx, room)
}

// write sends one text frame; callers respect the single-writer invariant.
func (c *Conn) write(b []byte) error {
	return c.ws.writeFrame(wsframe.OpText, b, time.Now().Add(10*time.Second))
}

// Dropped reports whether the connection ended without us closing it.
func (c *Conn) Dropped() bool {
	select {
	case <-c.done:
		return !c.closing.Load()
	default:
		return false
	}
}

// Close sends a normal close frame, stops the reader and closes the socket.
func (c *Conn) Close() {
	c.closing.Store(true)
	_ = c.ws.writeFrame(wsframe.OpClose, closePayload(1000), time.Now().Add(time.Second))
	if c.poll != nil {
		// The poller must let go of the socket before it is closed.
		c.poll.detach(c)
		<-c.done
		_ = c.ws.nc.Close()
		return
	}
	_ = c.ws.nc.Close()
	<-c.done
}
