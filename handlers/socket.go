package handlers

import (
	"context"
	"errors"
	"io"
	"log/slog"
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
// Each connection has two goroutines: the handler's own, which runs the read
// loop inline, and one writer, started here, which is the only goroutine that
// writes data frames and pings to the connection. The handler returns only
// after the writer has stopped, because contrib/websocket recycles the
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
		client, err := cfg.Hub.Connect(context.Background(), user, session)
		if err != nil {
			code, reason := chat.CloseGoingAway, "server shutting down"
			if errors.Is(err, chat.ErrSessionEnded) {
				code, reason = chat.ClosePolicy, "logged out"
			}
			_ = conn.WriteControl(fws.CloseMessage, fws.FormatCloseMessage(code, reason), time.Now().Add(closeGrace))
			return
		}
		client.SetAbort(func() { _ = nc.SetWriteDeadline(time.Now()) })

		done := make(chan struct{})
		go func() {
			defer close(done)
			writePump(conn, client, cfg)
		}()
		var readErr error
		defer func() { // also on panic: the writer must be gone before we return
			cfg.Hub.Disconnect(client)
			client.Close(0, "", true) // stops the writer if nothing else has
			<-done
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
			ctx, cancel := context.WithTimeout(context.Background(), cfg.EventTimeout)
			client.Handle(ctx, data)
			cancel()
		}
	}
}

// writePump drains the client's queue, several frames per write, sends
// pings, and sends the close frame the hub or the read loop asked for.
func writePump(conn *websocket.Conn, client *chat.Client, cfg SocketConfig) {
	nc := conn.NetConn()
	ping := time.NewTicker(cfg.PongWait * 9 / 10)
	defer ping.Stop()
	var frames [][]byte
	for {
		select {
		case <-client.Wake():
			var closing bool
			var code int
			var reason string
			frames, closing, code, reason = client.Take(frames[:0])
			if len(frames) > 0 {
				_ = nc.SetWriteDeadline(time.Now().Add(cfg.WriteWait))
				err := writeFrames(nc, frames)
				clear(frames)
				if err != nil {
					_ = nc.Close()
					return
				}
			}
			if closing {
				if code != 0 {
					_ = conn.WriteControl(fws.CloseMessage, fws.FormatCloseMessage(code, reason), time.Now().Add(closeGrace))
					_ = nc.SetReadDeadline(time.Now().Add(closeGrace))
				} else {
					_ = nc.Close()
				}
				return
			}
		case <-ping.C:
			if err := conn.WriteControl(fws.PingMessage, nil, time.Now().Add(cfg.WriteWait)); err != nil {
				_ = nc.Close()
				return
			}
		}
	}
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
