package main

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// inEvent is a client event, decoded by the connection's reader.
type inEvent struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// outEvent is a server event.
type outEvent struct {
	Type    string `json:"type"`
	Payload any    `json:"payload"`
}

// newMessage is the payload of new_message.
type newMessage struct {
	ID      int64  `json:"id"`
	Room    string `json:"room"`
	From    string `json:"from"`
	Message string `json:"message"`
	Sent    string `json:"sent"`
}

// roomJoined is the payload of room_joined; this server keeps no history.
type roomJoined struct {
	Room    string       `json:"room"`
	Members []string     `json:"members"`
	History []newMessage `json:"history"`
}

// ack is the payload of ack.
type ack struct {
	ID        string `json:"id"`
	MessageID int64  `json:"message_id,omitempty"`
}

// errorPayload is the payload of error.
type errorPayload struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	ID      string `json:"id,omitempty"`
}

// encode marshals an event; the payloads above always marshal.
func encode(typ string, payload any) []byte {
	b, err := json.Marshal(outEvent{Type: typ, Payload: payload})
	if err != nil {
		panic("plainchat: encoding " + typ + ": " + err.Error())
	}
	return b
}

// sentTime formats t the way Parley does: RFC 3339, UTC, milliseconds.
func sentTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// validRoom reports whether name is 1 to 64 characters of A-Z a-z 0-9 _ -.
func validRoom(name string) bool {
	if len(name) < 1 || len(name) > 64 {
		return false
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}

// cleanMessage trims text and reports whether 1 to 1000 characters remain.
func cleanMessage(text string) (string, bool) {
	t := strings.TrimSpace(text)
	n := utf8.RuneCountInString(t)
	return t, n >= 1 && n <= 1000
}
