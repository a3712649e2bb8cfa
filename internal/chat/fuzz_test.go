package chat

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeEvent feeds arbitrary frames to the decoder: it must never
// panic; an accepted event has a non-empty type, and its id, when present,
// is a JSON string or number; a rejected one is a bad_request.
func FuzzDecodeEvent(f *testing.F) {
	for _, s := range []string{
		`{"type":"send_message","payload":{"message":"hi"},"id":"1"}`,
		`{"type":"change_room","payload":{"name":"general","since":42}}`,
		`{"type":"history","payload":{"limit":50,"before":9}}`,
		`{"type":"typing"}`,
		`{"type":"x","id":12}`,
		`{"payload":{}}`,
		`[]`, `null`, `{"type":"\u0000"}`, "{\"type\":\"a\",\"type\":\"b\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := DecodeEvent(data)
		if err != nil {
			if err.Code != CodeBadRequest {
				t.Fatalf("code %q", err.Code)
			}
			return
		}
		if in.Type == "" {
			t.Fatal("accepted an event without a type")
		}
		if in.ID != nil {
			var v any
			if json.Unmarshal(in.ID, &v) != nil {
				t.Fatalf("id %q is not JSON", in.ID)
			}
			switch v.(type) {
			case string, float64:
			default:
				t.Fatalf("id %q is neither a string nor a number", in.ID)
			}
		}
		// The payload decoders never panic on what the envelope let through.
		var p struct {
			Message *string         `json:"message"`
			Since   json.RawMessage `json:"since"`
		}
		if decodePayload(in.Payload, &p) == nil {
			_, _ = parseMessageID(p.Since, "since")
		}
	})
}
