// Package chat is Parley's chat domain: the hub that owns rooms and their
// members, the per-connection client state and the event protocol of the
// public contract. It knows nothing about HTTP or Fiber: the handlers feed it
// text frames and drain each client's queue of encoded events.
package chat

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/parley-chat/parley/internal/store"
)

// Event types of the contract.
const (
	TypeSendMessage = "send_message"
	TypeChangeRoom  = "change_room"
	TypeTyping      = "typing"
	TypeHistory     = "history"
	TypeNewMessage  = "new_message"
	TypeRoomJoined  = "room_joined"
	TypeUserJoined  = "user_joined"
	TypeUserLeft    = "user_left"
	TypeAck         = "ack"
	TypeError       = "error"
)

// Error codes sent in `error` events.
const (
	CodeBadRequest   = "bad_request"
	CodeUnknownEvent = "unknown_event"
	CodeRateLimited  = "rate_limited"
	CodeUnavailable  = "unavailable"
)

// Error is a protocol error answered with an `error` event.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func badRequest(msg string) *Error { return &Error{Code: CodeBadRequest, Message: msg} }

// Inbound is a decoded client event. Payload and ID are raw JSON: ID is nil
// when absent, else a JSON string or number, echoed back as sent.
type Inbound struct {
	Type    string
	Payload json.RawMessage
	ID      json.RawMessage
}

// MaxRequestID is the longest request id accepted, in bytes of JSON.
const MaxRequestID = 128

// DecodeEvent parses one client frame. On failure the returned Inbound still
// carries the request id when one could be read, so the error can name it.
func DecodeEvent(data []byte) (Inbound, *Error) {
	var raw struct {
		Type    *json.RawMessage `json:"type"`
		Payload json.RawMessage  `json:"payload"`
		ID      json.RawMessage  `json:"id"`
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return Inbound{}, badRequest("An event is a JSON object.")
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Inbound{}, badRequest("The event is not valid JSON.")
	}
	var in Inbound
	if id := raw.ID; len(id) > 0 && !bytes.Equal(id, []byte("null")) {
		if len(id) > MaxRequestID || (id[0] != '"' && id[0] != '-' && (id[0] < '0' || id[0] > '9')) {
			return Inbound{}, badRequest("The request id must be a string or a number of at most 128 bytes.")
		}
		in.ID = id
	}
	if raw.Type == nil {
		return in, badRequest("The event has no type.")
	}
	if err := json.Unmarshal(*raw.Type, &in.Type); err != nil || in.Type == "" {
		return in, badRequest("The event type must be a non-empty string.")
	}
	if p := raw.Payload; len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		in.Payload = p
	}
	return in, nil
}

// decodePayload unmarshals an object payload into v; absent means {}.
func decodePayload(p json.RawMessage, v any) *Error {
	if len(p) == 0 {
		p = []byte("{}")
	}
	if p[0] != '{' {
		return badRequest("The payload must be a JSON object.")
	}
	if err := json.Unmarshal(p, v); err != nil {
		return badRequest("The payload does not have the fields this event needs, with the right types.")
	}
	return nil
}

// MaxMessageID bounds ids accepted from clients: JavaScript's largest safe
// integer, so that every id a browser can hold exactly is accepted.
const MaxMessageID = 1<<53 - 1

// parseMessageID reads an optional message id from raw JSON: absent is 0.
func parseMessageID(raw json.RawMessage, field string) (int64, *Error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return 0, nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n <= 0 || n > MaxMessageID {
		return 0, badRequest("'" + field + "' must be a message id: a positive integer.")
	}
	return n, nil
}

// SentFormat is the contract's timestamp: RFC 3339, UTC, milliseconds.
const SentFormat = "2006-01-02T15:04:05.000Z"

// messageView is the payload of new_message and of history entries.
type messageView struct {
	ID      int64  `json:"id"`
	Room    string `json:"room"`
	From    string `json:"from"`
	Message string `json:"message"`
	Sent    string `json:"sent"`
}

func viewOf(m store.Message) messageView {
	return messageView{ID: m.ID, Room: m.Room, From: m.From, Message: m.Text, Sent: m.Sent.UTC().Format(SentFormat)}
}

func viewsOf(ms []store.Message) []messageView {
	out := make([]messageView, len(ms))
	for i, m := range ms {
		out[i] = viewOf(m)
	}
	return out
}

type outbound struct {
	Type    string `json:"type"`
	Payload any    `json:"payload"`
}

// encode renders a server event. The payload types are ours, so a failure is
// a programming error.
func encode(typ string, payload any) []byte {
	b, err := json.Marshal(outbound{Type: typ, Payload: payload})
	if err != nil {
		panic("chat: cannot encode " + typ + ": " + err.Error())
	}
	return b
}

// EncodeNewMessage renders a stored message as a new_message event.
func EncodeNewMessage(m store.Message) []byte { return encode(TypeNewMessage, viewOf(m)) }

type roomUser struct {
	Room string `json:"room"`
	User string `json:"user"`
}

type historyPage struct {
	Room     string        `json:"room"`
	Messages []messageView `json:"messages"`
}

type ackPayload struct {
	ID        json.RawMessage `json:"id"`
	MessageID int64           `json:"message_id,omitempty"`
}

type errorPayload struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	ID      json.RawMessage `json:"id,omitempty"`
}

func encodeAck(id json.RawMessage, messageID int64) []byte {
	return encode(TypeAck, ackPayload{ID: id, MessageID: messageID})
}

func encodeError(e *Error, id json.RawMessage) []byte {
	return encode(TypeError, errorPayload{Code: e.Code, Message: e.Message, ID: id})
}
