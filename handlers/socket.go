package handlers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"time"
	"unicode/utf8"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/websocket"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/middleware"
)

// SocketConfig configures the WebSocket handler.
type SocketConfig struct {
	Hub       *chat.Hub
	Log       *slog.Logger
	ReadLimit int64         // largest message accepted; over it: close 1009
	PongWait  time.Duration // a client silent this long is dropped
	// WriteWait bounds each write to the socket (10s when zero).
	WriteWait time.Duration
	// EventTimeout bounds the work one client event may do, such as storing
	// a message (10s when zero).
	EventTimeout time.Duration
}

// closeGrace is how long we wait for the peer's answer to our close frame,
// and for the rest of an over-long message to drain, before closing the TCP
// connection.
const closeGrace = time.Second

// Socket returns the handler for an upgraded /ws connection.
//
// The handler's own goroutine runs the read loop inline; it is the only
// reader. A frame for an idle connection is written at once by the
// goroutine that queues it, with one non-blocking write (writeDirect, under
// the client's lock). Everything else (frames that find others queued or
// the socket full, pings, the close frame) is written by the connection's
// writer (see writer.run), which exists only while there is something to
// send: the client starts it when a frame is queued for an idle connection,
// and the ping timer runs it for a ping. Only one of them writes at a time,
// so there is one writer per connection, and an idle connection has no
// goroutine but its reader. The handler returns only after
// the writer has stopped for good, because contrib/websocket recycles the
// connection as soon as it does.
func Socket(cfg SocketConfig) func(*websocket.Conn) {
	if cfg.WriteWait <= 0 {
		cfg.WriteWait = 10 * time.Second
	}
	if cfg.EventTimeout <= 0 {
		cfg.EventTimeout = 10 * time.Second
	}
	return func(conn *websocket.Conn) {
		user, _ := conn.Locals(middleware.LocalUser).(string)
		session, _ := conn.Locals(middleware.LocalSession).(string)
		nc := conn.NetConn()
		var direct func([][]byte) ([]byte, bool)
		if raw := rawConn(nc); raw != nil {
			direct = func(frames [][]byte) ([]byte, bool) { return writeDirect(raw, frames) }
		}
		var client *chat.Client
		var err error
		onFreshStack(func() { client, err = cfg.Hub.ConnectDirect(context.Background(), user, session, direct) })
		if err != nil {
			code, reason := chat.CloseGoingAway, "server shutting down"
			if errors.Is(err, chat.ErrSessionEnded) {
				code, reason = chat.ClosePolicy, "logged out"
			}
			_ = conn.WriteControl(fws.CloseMessage, fws.FormatCloseMessage(code, reason), time.Now().Add(closeGrace))
			return
		}
		client.SetAbort(func() { _ = nc.SetWriteDeadline(time.Now()) })
		w := &writer{conn: conn, nc: nc, client: client, wait: cfg.WriteWait}
		pings := startPings(client, cfg.PongWait*9/10)
		client.StartWriter(w.run)

		var readErr error
		defer func() { // also on panic: the writer must be gone before we return
			cfg.Hub.Disconnect(client)
			client.Close(0, "", true) // stops the writer if nothing else has
			pings.Stop()
			client.WaitWriter()
			if errors.Is(readErr, fws.ErrReadLimit) {
				drain(conn)
			}
		}()
		readErr = readPump(conn, client, cfg)
	}
}

// readPump reads frames until the connection fails or the peer answers our
// close. It is the only reader of the connection.
func readPump(conn *websocket.Conn, client *chat.Client, cfg SocketConfig) error {
	conn.SetReadLimit(cfg.ReadLimit)
	extend := func() { _ = conn.SetReadDeadline(time.Now().Add(cfg.PongWait)) }
	extend()
	conn.SetPongHandler(func(string) error { extend(); return nil })
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		extend()
		if client.Closing() {
			continue // waiting for the peer to answer our close frame
		}
		switch {
		case typ != fws.TextMessage:
			client.Close(fws.CloseUnsupportedData, "binary frames are not accepted", false)
		case !utf8.Valid(data):
			client.Close(fws.CloseInvalidFramePayloadData, "text frames must be valid UTF-8", false)
		default:
			onFreshStack(func() {
				ctx, cancel := context.WithTimeout(context.Background(), cfg.EventTimeout)
				client.Handle(ctx, data)
				cancel()
			})
		}
	}
}

// onFreshStack runs f on a goroutine of its own and waits for it, passing
// on a panic. Joining a room or handling an event (SQLite queries, JSON)
// needs a deep stack; on the reader's goroutine, which lives as long as the
// connection, that stack would stay grown long after, in every idle
// connection.
func onFreshStack(f func()) {
	done := make(chan struct{})
	var p any
	go func() {
		defer func() {
			p = recover()
			close(done)
		}()
		f()
	}()
	<-done
	if p != nil {
		panic(p)
	}
}

// pinger asks a client for a ping every interval, from a runtime timer
// rather than from a goroutine of its own, until the client is closing.
type pinger struct {
	t      *time.Timer
	client *chat.Client
	every  time.Duration
}

func startPings(client *chat.Client, every time.Duration) *pinger {
	p := &pinger{client: client, every: every}
	// Armed only once p.t is set: Reset orders that write before fire.
	p.t = time.AfterFunc(time.Duration(math.MaxInt64), p.fire)
	p.t.Reset(every)
	return p
}

func (p *pinger) fire() {
	if p.client.Ping() {
		p.t.Reset(p.every)
	}
}

// Stop stops the timer; a ping already under way still happens.
func (p *pinger) Stop() { p.t.Stop() }

// writer writes one connection's queued frames, several per write call,
// its pings and its close frame. Its run method is the connection's writer:
// the client runs it only while there is work and never twice at once, so
// its fields need no lock.
type writer struct {
	conn   *websocket.Conn
	nc     net.Conn
	client *chat.Client
	wait   time.Duration
	until  time.Time  // the write deadline set last
	b      chat.Batch // reused by every run: no allocation per run
}

// run sends what Next hands out until there is nothing left.
func (w *writer) run() {
	b := &w.b
	for w.client.Next(b) {
		if len(b.Head) > 0 || len(b.Frames) > 0 {
			w.deadline()
			err := writeFrames(w.nc, b.Head, b.Frames)
			clear(b.Frames)
			if err != nil {
				w.fail()
				continue
			}
		}
		if b.Ping {
			w.until = time.Now().Add(w.wait)
			if err := w.conn.WriteControl(fws.PingMessage, nil, w.until); err != nil {
				w.fail()
				continue
			}
		}
		if b.Close {
			if b.Code != 0 {
				_ = w.conn.WriteControl(fws.CloseMessage, fws.FormatCloseMessage(b.Code, b.Reason), time.Now().Add(closeGrace))
				_ = w.nc.SetReadDeadline(time.Now().Add(closeGrace))
			} else {
				_ = w.nc.Close()
			}
		}
	}
}

// deadline bounds the next write by the write wait, give or take a
// hundredth of it: the socket's deadline moves only when it has aged by
// that much, not before every write, since a runtime timer update per write
// costs about as much as a small write.
func (w *writer) deadline() {
	now := time.Now()
	if w.until.Sub(now) < w.wait-w.wait/100 {
		w.until = now.Add(w.wait)
		_ = w.nc.SetWriteDeadline(w.until)
	}
}

// fail closes a connection whose write failed; the read loop then ends.
func (w *writer) fail() {
	_ = w.nc.Close()
	w.client.Close(0, "", true)
}

// drain half-closes the connection and reads what the peer still sends (the
// rest of an over-long message) for a moment, so that closing does not
// reset the connection and lose the 1009 close frame on its way.
func drain(conn *websocket.Conn) {
	nc := conn.NetConn()
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = nc.SetReadDeadline(time.Now().Add(closeGrace))
	_, _ = io.Copy(io.Discard, io.LimitReader(nc, 1<<20))
}

// RecoverSocket logs a panic in a socket handler (which Fiber's recover
// middleware cannot see) and closes the connection with 1011, instead of
// contrib/websocket's default of writing the panic to the client.
func RecoverSocket(log *slog.Logger) func(*websocket.Conn) {
	return func(conn *websocket.Conn) {
		if r := recover(); r != nil {
			log.Error("panic in socket handler", "panic", r)
			_ = conn.WriteControl(fws.CloseMessage, fws.FormatCloseMessage(chat.CloseInternal, "internal error"), time.Now().Add(closeGrace))
		}
	}
}
