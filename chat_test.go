package main

import (
	"fmt"
	"testing"
	"time"
)

func TestChatBetweenTwoUsers(t *testing.T) {
	s := startServer(t)
	alice, bob := s.newUser(t, "alice"), s.newUser(t, "Bob")
	a := s.connect(t, alice)
	b := s.connect(t, bob)

	var joined struct{ Room, User string }
	a.expect("user_joined").decode(t, &joined)
	if joined.User != "Bob" || joined.Room != "general" {
		t.Fatalf("user_joined %+v", joined)
	}

	// A forged "from" is replaced by the authenticated user.
	b.send("send_message", map[string]any{"message": "  hello alice  ", "from": "alice"}, "m1")
	var got messagePayload
	a.expect("new_message").decode(t, &got)
	if got.From != "Bob" || got.Message != "hello alice" || got.Room != "general" || got.ID <= 0 {
		t.Fatalf("new_message %+v", got)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", got.Sent); err != nil || len(got.Sent) != 24 {
		t.Fatalf("sent %q is not RFC 3339 UTC with milliseconds", got.Sent)
	}
	var own messagePayload
	b.expect("new_message").decode(t, &own)
	var ack struct {
		ID        string `json:"id"`
		MessageID int64  `json:"message_id"`
	}
	b.expect("ack").decode(t, &ack)
	if ack.ID != "m1" || ack.MessageID != got.ID || own.ID != got.ID {
		t.Fatalf("ack %+v, own %+v, delivered %+v", ack, own, got)
	}

	// Ids increase within a room.
	last := got.ID
	for i := range 5 {
		id := a.say(fmt.Sprintf("n%d", i), fmt.Sprintf("a%d", i))
		if id <= last {
			t.Fatalf("id %d after %d", id, last)
		}
		last = id
	}
}
