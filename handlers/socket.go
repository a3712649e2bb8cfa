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

	"github.com/gofiber/contrib/websocket"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/wsframe"
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

// Close codes the transport sends itself.
const (
	closeProtocol    = 1002
	closeUnsupported = 1003
	closeInvalidData = 1007
	closeTooBig      = 1009
)

// Socket returns the handler for an upgraded /ws connection. The server
// must keep hijacked connections open after their handler returns
// (fasthttp's Server.KeepHijackedConns, set by routes.New): the handler
// hands the connection over and returns at once.
//
// Why: while a hijack handler runs, fasthttp keeps the request's whole
// context and its read buffer, and contrib/websocket its copies of the
// request, for the connection's life, and the handler's goroutine parks
// deep in a buffered reader. Instead, the handler takes what fasthttp had
// read past the handshake and gives the bare connection to serve, on a
// goroutine of its own, which reads frames with internal/wsframe straight
// from the socket. An idle connection then holds its socket, its chat
// state and one small goroutine stack, and no buffer at all.
func Socket(cfg SocketConfig) func(*websocket.Conn) {
	if cfg.WriteWait <= 0 {
		cfg.WriteWait = 10 * time.Second
	}
	if cfg.EventTimeout <= 0 {
		cfg.EventTimeout = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return func(conn *websocket.Conn) {
		user, _ := conn.Locals(middleware.LocalUser).(string)
		session, _ := conn.Locals(middleware.LocalSession).(string)
		hj := conn.NetConn()
		nc := hj
		if u, ok := hj.(interface{ UnsafeConn() net.Conn }); ok {
			nc = u.UnsafeConn()
		}
		pre := takeBuffered(hj)
		go serve(nc, pre, user, session, cfg)
	}
}

// takeBuffered returns what fasthttp's reader holds beyond the handshake (a
// client may send frames before it has seen the 101). A read deadline in
// the past makes the reader hand over its buffer and stop at the socket,
// whose unread bytes stay there for serve.
func takeBuffered(hj net.Conn) []byte {
	_ = hj.SetReadDeadline(time.Unix(1, 0))
	var out []byte
	var buf [512]byte
	for {
		n, err := hj.Read(buf[:])
		out = append(out, buf[:n]...)
		if err != nil || n == 0 {
			break
		}
	}
	_ = hj.SetReadDeadline(time.Time{})
	return out
}

// serve runs one connection from the handover to its end, and closes it.
// Its goroutine is the connection's only reader. A frame for an idle
// connection is written by the hub's flusher (see chat.Client.push);
// everything else (frames that find the socket full, pings, pongs, the
// close frame) by the connection's writer (see writer.run), which exists
// only while there is something to send. Only one of them writes at a time.
func serve(nc net.Conn, pre []byte, user, session string, cfg SocketConfig) {
	defer nc.Close()
	var client *chat.Client
	defer func() { // a panic before the client exists (one after is handled below)
		if p := recover(); p != nil {
			cfg.Log.Error("panic in socket handler", "panic", p)
			writeControl(nc, wsframe.AppendClose(nil, chat.CloseInternal, "internal error"), time.Now().Add(closeGrace))
		}
	}()
	direct := newDirect(nc)
	var err error
	onFreshStack(func() { client, err = cfg.Hub.ConnectDirect(context.Background(), user, session, direct) })
	if err != nil {
		code, reason := chat.CloseGoingAway, "server shutting down"
		if errors.Is(err, chat.ErrSessionEnded) {
			code, reason = chat.ClosePolicy, "logged out"
		}
		writeControl(nc, wsframe.AppendClose(nil, code, reason), time.Now().Add(closeGrace))
		return
	}
	client.SetAbort(func() { _ = nc.SetWriteDeadline(time.Now()) })
	w := &writer{nc: nc, client: client, wait: cfg.WriteWait}
	pings := startPings(client, cfg.PongWait*9/10)
	client.StartWriter(w.run)

	var readErr error
	defer func() { // also on panic: the writer must be gone before nc closes
		if p := recover(); p != nil {
			cfg.Log.Error("panic in socket handler", "panic", p)
			client.Close(chat.CloseInternal, "internal error", true)
		}
		cfg.Hub.Disconnect(client)
		client.Close(0, "", true) // stops the writer if nothing else has
		pings.Stop()
		client.WaitWriter()
		if errors.Is(readErr, wsframe.ErrTooBig) || errors.Is(readErr, wsframe.ErrProtocol) {
			// Read what the peer still sends, so that closing does not
			// reset the connection and lose the close frame on its way.
			drain(nc)
		}
	}()
	readErr = readPump(nc, pre, client, cfg)
}

// readPump reads frames until the connection fails, the client breaks the
// protocol, or the peer closes (answering ours or on its own).
func readPump(nc net.Conn, pre []byte, client *chat.Client, cfg SocketConfig) error {
	rd := wsframe.NewReader(nc, pre, cfg.ReadLimit)
	extend := func() { _ = nc.SetReadDeadline(time.Now().Add(cfg.PongWait)) }
	extend()
	for {
		op, data, err := rd.Next()
		switch {
		case errors.Is(err, wsframe.ErrTooBig):
			client.Close(closeTooBig, "message too big", true)
			return err
		case errors.Is(err, wsframe.ErrProtocol):
			client.Close(closeProtocol, "protocol error", true)
			return err
		case err != nil:
			return err
		}
		if !client.Closing() {
			// Once we have sent our close frame, the writer's grace period
			// stands: a peer that keeps talking cannot extend it.
			extend()
		}
		switch op {
		case wsframe.OpPong:
			continue
		case wsframe.OpPing:
			client.Pong(data)
			continue
		case wsframe.OpClose:
			// Answer the peer's close (ours, if we sent one first, stands:
			// only the first Close counts), then end.
			if !wsframe.ValidClose(data) {
				client.Close(closeProtocol, "bad close frame", true)
				return wsframe.ErrProtocol
			}
			code := wsframe.CloseCode(data)
			if code == 1005 {
				code = 1000 // the peer gave no status: a normal closure
			}
			client.Close(code, "", false)
			return nil
		}
		if client.Closing() {
			continue // waiting for the peer to answer our close frame
		}
		switch {
		case op != wsframe.OpText:
			client.Close(closeUnsupported, "binary frames are not accepted", false)
		case !utf8.Valid(data):
			client.Close(closeInvalidData, "text frames must be valid UTF-8", false)
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
// its pings, pongs and its close frame. Its run method is the connection's
// writer: the client runs it only while there is work and never twice at
// once, so its fields need no lock.
type writer struct {
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
		head := b.Head
		if b.Pong {
			// The answer to the peer's ping goes ahead of the queued frames
			// (but after the rest of a frame already begun), so it never
			// waits behind them.
			head = append(append(head[:len(head):len(head)], wsframe.AppendHeader(nil, wsframe.OpPong, len(b.PongData))...), b.PongData...)
		}
		if len(head) > 0 || len(b.Frames) > 0 {
			w.deadline()
			err := writeFrames(w.nc, head, b.Frames)
			clear(b.Frames)
			if err != nil {
				w.fail()
				continue
			}
		}
		if b.Ping {
			w.deadline()
			if _, err := w.nc.Write(wsframe.AppendHeader(nil, wsframe.OpPing, 0)); err != nil {
				w.fail()
				continue
			}
		}
		if b.Close {
			if b.Code != 0 {
				writeControl(w.nc, wsframe.AppendClose(nil, b.Code, b.Reason), time.Now().Add(closeGrace))
				_ = w.nc.SetReadDeadline(time.Now().Add(closeGrace))
			} else {
				_ = w.nc.Close()
			}
		}
	}
}

// writeControl writes one control frame by the deadline, ignoring errors:
// it is used on the way out.
func writeControl(nc net.Conn, frame []byte, deadline time.Time) {
	_ = nc.SetWriteDeadline(deadline)
	_, _ = nc.Write(frame)
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
// reset the connection and lose our close frame on its way.
func drain(nc net.Conn) {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = nc.SetReadDeadline(time.Now().Add(closeGrace))
	_, _ = io.Copy(io.Discard, io.LimitReader(nc, 1<<20))
}

// RecoverSocket logs a panic in the socket handler before the handover
// (which Fiber's recover middleware cannot see), closes the connection with
// 1011 instead of contrib/websocket's default of writing the panic to the
// client, and closes it: the server keeps hijacked connections open.
func RecoverSocket(log *slog.Logger) func(*websocket.Conn) {
	return func(conn *websocket.Conn) {
		if r := recover(); r != nil {
			log.Error("panic in socket handler", "panic", r)
			nc := conn.NetConn()
			writeControl(nc, wsframe.AppendClose(nil, chat.CloseInternal, "internal error"), time.Now().Add(closeGrace))
			_ = nc.Close()
		}
	}
}
