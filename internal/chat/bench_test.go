package chat

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/broker"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/sqlite"
)

// The hot paths of a broadcast: decoding a client's event, encoding the
// stored message once, and queueing the same bytes for every member.

func BenchmarkDecodeEvent(b *testing.B) {
	frame := []byte(`{"type":"send_message","payload":{"message":"` + strings.Repeat("x", 64) + `"},"id":"12345"}`)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEvent(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeNewMessage(b *testing.B) {
	m := store.Message{ID: 123456, Room: "general", From: "load_17", Text: strings.Repeat("x", 64),
		Sent: time.Date(2026, 11, 25, 7, 0, 0, 123e6, time.UTC)}
	b.ReportAllocs()
	for b.Loop() {
		_ = EncodeNewMessage(m)
	}
}

// benchClient is a client outside any hub, with the default queue bounds.
func benchClient() *Client {
	return &Client{hub: &Hub{cfg: Config{QueueFrames: 1024, QueueBytes: 1 << 20}}, wake: make(chan struct{}, 1)}
}

func BenchmarkEnqueue(b *testing.B) {
	c := benchClient()
	payload := []byte(`{"type":"new_message","payload":{}}`)
	var frames [][]byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if !c.enqueue(0, payload) {
			b.Fatal("queue full")
		}
		if i++; i%64 == 0 { // a writer taking what queued up meanwhile
			frames, _, _, _ = c.Take(frames[:0])
		}
	}
}

// BenchmarkEnqueueWithWriter measures enqueue when each frame finds the
// connection idle and starts its writer, the worst case for on-demand
// writers.
func BenchmarkEnqueueWithWriter(b *testing.B) {
	c := benchClient()
	done := make(chan struct{}, 1)
	c.StartWriter(func() {
		var bt Batch
		for c.Next(&bt) {
			clear(bt.Frames)
		}
		done <- struct{}{}
	})
	payload := []byte(`{"type":"new_message","payload":{}}`)
	b.ReportAllocs()
	for b.Loop() {
		c.enqueue(0, payload)
		<-done
	}
	c.Close(0, "", true)
	c.WaitWriter()
}

// BenchmarkDeliverRoom100 queues one encoded message for the 100 members of
// a room, as the broker's handler does for every stored message.
func BenchmarkDeliverRoom100(b *testing.B) {
	st, err := sqlite.Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h, err := NewHub(Config{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			b.Error(err)
		}
	}()
	var members []*Client
	for i := range 100 {
		c, err := h.Connect(context.Background(), fmt.Sprintf("u%d", i), "s")
		if err != nil {
			b.Fatal(err)
		}
		members = append(members, c)
	}
	defer func() {
		for _, c := range members {
			h.Disconnect(c)
		}
	}()
	var frames [][]byte
	for _, c := range members {
		frames, _, _, _ = c.Take(frames[:0])
	}
	payload := []byte(`{"type":"new_message","payload":{"id":1,"room":"general","from":"u1","message":"hello","sent":"2026-11-25T07:00:00.000Z"}}`)
	b.ReportAllocs()
	id := int64(0)
	for b.Loop() {
		id++
		h.deliver(DefaultRoom, broker.Event{ID: id, Prev: id - 1, Payload: payload})
		if id%512 == 0 {
			for _, c := range members {
				frames, _, _, _ = c.Take(frames[:0])
			}
		}
	}
}
