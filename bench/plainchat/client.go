package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// Settings are the connection limits of the server.
type Settings struct {
	SendQueue int           // messages a client may have queued before it is evicted
	ReadLimit int64         // largest message accepted, in bytes
	PongWait  time.Duration // a client silent this long is dropped; pings go at 9/10 of it
}

// client is one WebSocket connection.
//
// Concurrency: readPump is the only reader of conn and writePump the only
// writer. room, evicted and closeCode belong to the hub goroutine; the
// writer reads closeCode only after the hub closed send, which orders it.
type client struct {
	hub       *Hub
	conn      *websocket.Conn
	user      string
	send      chan []byte
	room      *room
	evicted   bool
	closeCode int
	settings  Settings
}

// upgrader accepts any origin: the comparison server has no browser client.
var upgrader = websocket.Upgrader{
	ReadBufferSize:  2048,
	WriteBufferSize: 2048,
	CheckOrigin:     func(*http.Request) bool { return true },
}

// ServeWS upgrades the request and runs the connection; the user name is the
// "user" query parameter (no account, no password).
func ServeWS(h *Hub, s Settings) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user := r.URL.Query().Get("user")
		if user == "" {
			user = "anonymous"
		}
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // the upgrader has answered
		}
		c := &client{hub: h, conn: conn, user: user, send: make(chan []byte, s.SendQueue), settings: s}
		if !h.Register(c) {
			_ = conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second))
			_ = conn.Close()
			return
		}
		writerDone := make(chan struct{})
		go func() {
			defer close(writerDone)
			c.writePump()
		}()
		c.readPump()
		<-writerDone
	}
}

// readPump decodes the client's events and hands them to the hub. It is the
// connection's only reader; when it ends the client is unregistered.
func (c *client) readPump() {
	defer func() {
		c.hub.Unregister(c)
		_ = c.conn.Close()
	}()
	c.conn.SetReadLimit(c.settings.ReadLimit)
	_ = c.conn.SetReadDeadline(time.Now().Add(c.settings.PongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(c.settings.PongWait))
	})
	for {
		typ, data, err := c.conn.ReadMessage()
		if err != nil {
			if websocket.IsUnexpectedCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				slog.Debug("connection ended", "err", err)
			}
			return
		}
		if typ != websocket.TextMessage {
			c.hub.Submit(request{c: c})
			continue
		}
		var ev inEvent
		ok := json.Unmarshal(data, &ev) == nil && ev.Type != ""
		c.hub.Submit(request{c: c, ev: ev, ok: ok})
	}
}

// writePump writes queued events, one frame each, and pings. It is the
// connection's only writer; it ends when the hub closes the queue, after
// sending a close frame with the code the hub chose.
func (c *client) writePump() {
	ping := time.NewTicker(c.settings.PongWait * 9 / 10)
	defer func() {
		ping.Stop()
		_ = c.conn.Close()
	}()
	for {
		select {
		case msg, ok := <-c.send:
			_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if !ok {
				_ = c.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(c.closeCode, ""))
				return
			}
			if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				return
			}
		case <-ping.C:
			_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}
