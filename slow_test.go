package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestSlowConsumerIsDropped sends 20,000 messages to a room where one client
// never reads: its bounded queue fills, it is dropped (the others hear
// user_left), and a normal reader in the same room receives every message,
// in id order, once.
func TestSlowConsumerIsDropped(t *testing.T) {
	const senders, perSender = 4, 5000
	// Long write and pong waits: the sloth must be dropped because its
	// queue fills, however slowly this machine runs, not because a write
	// to it timed out or it answered no ping first.
	s := startServer(t, "-msg-rate", "100000", "-msg-burst", "100000", "-write-wait", "10m", "-pong-wait", "10m")
	slowUser, readerUser, sendUser := s.newUser(t, "sloth"), s.newUser(t, "reader"), s.newUser(t, "sender")
	join := func(w *wsConn) {
		w.send("change_room", map[string]any{"name": "flood"}, "")
		w.expect("room_joined")
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range strings.Split(s.logs.String(), "\n") {
				if strings.Contains(l, "slow") || strings.Contains(l, "ERROR") {
					t.Log(l)
				}
			}
		}
	})
	reader := s.connect(t, readerUser)
	join(reader)
	slow := s.connect(t, slowUser)
	join(slow)
	reader.expect("user_joined")

	// Senders each drain their own connection in a goroutine (they are in
	// the room too). Flow control: each round, every sender sends `window`
	// messages and the reader receives them all before the next round, so
	// the reader's queue stays far below its bound while the sloth's grows.
	const window = 50
	text := strings.Repeat("z", 600)
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	acked := make(chan struct{}, senders*perSender)
	var conns []*wsConn
	for i := range senders {
		w := s.connect(t, sendUser)
		join(w)
		conns = append(conns, w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Read cheaply (only each event's first bytes) so that the
			// senders keep up with the flood they are part of.
			_ = w.conn.SetReadDeadline(time.Now().Add(5 * time.Minute))
			acks := 0
			head := make([]byte, 16)
			for acks < perSender {
				_, r, err := w.conn.NextReader()
				if err == nil {
					_, err = io.ReadFull(r, head)
				}
				if err == nil {
					_, err = io.Copy(io.Discard, r)
				}
				if err != nil {
					errs <- fmt.Errorf("sender %d: %v", i, err)
					return
				}
				if string(head[:14]) == `{"type":"ack",` {
					acks++
					acked <- struct{}{}
				} else if string(head[:15]) == `{"type":"error"` {
					errs <- fmt.Errorf("sender %d got an error event", i)
					return
				}
			}
		}()
	}

	var last int64
	got, sawLeft := 0, false
	for round := 0; round < perSender/window; round++ {
		for i, w := range conns {
			for j := range window {
				frame := fmt.Sprintf(`{"type":"send_message","payload":{"message":"%d-%d %s"},"id":"%d"}`, i, round*window+j, text, j)
				if err := w.conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
					t.Fatalf("sender %d: %v", i, err)
				}
			}
		}
		for want := got + senders*window; got < want; {
			ev := reader.next()
			switch ev.Type {
			case "new_message":
				var m messagePayload
				if err := json.Unmarshal(ev.Payload, &m); err != nil {
					t.Fatal(err)
				}
				if m.ID <= last {
					t.Fatalf("message id %d after %d", m.ID, last)
				}
				last = m.ID
				got++
			case "user_left":
				var p struct{ User string }
				ev.decode(t, &p)
				sawLeft = sawLeft || p.User == "sloth"
			case "user_joined", "typing":
			default:
				t.Fatalf("reader got %s %s", ev.Type, ev.Payload)
			}
		}
		for range senders * window {
			select {
			case <-acked:
			case err := <-errs:
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if !sawLeft {
		t.Fatal("the slow client never left the room")
	}
	if n := metricValue(t, s, "parley_slow_clients_dropped_total"); n != 1 {
		t.Fatalf("parley_slow_clients_dropped_total = %v, want 1", n)
	}
	// The slow client's connection was closed by the server: draining it
	// ends in a close frame (1013) or, if the close frame could not be
	// written in time (the sloth's socket is full), an abrupt end, which
	// the client library reports as 1006.
	slow.conn.SetReadLimit(-1)
	for {
		if _, _, err := slow.conn.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if asCloseError(err, &ce) && ce.Code != websocket.CloseTryAgainLater && ce.Code != websocket.CloseAbnormalClosure {
				t.Fatalf("slow client closed with %d", ce.Code)
			}
			break
		}
	}
}
