package chat

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/store"
)

func TestDecodeEvent(t *testing.T) {
	cases := []struct {
		in, typ, id, code string
	}{
		{`{"type":"typing"}`, "typing", "", ""},
		{` {"type":"history","payload":{"limit":3},"id":"a1"} `, "history", `"a1"`, ""},
		{`{"type":"x","id":12}`, "x", "12", ""},
		{`{"type":"x","id":null}`, "x", "", ""},
		{`{"type":"x","id":{}}`, "", "", CodeBadRequest},
		{`{"type":"x","id":"` + strings.Repeat("i", 200) + `"}`, "", "", CodeBadRequest},
		{`{"id":"k"}`, "", `"k"`, CodeBadRequest},
		{`{"type":1}`, "", "", CodeBadRequest},
		{`{"type":""}`, "", "", CodeBadRequest},
		{`nope`, "", "", CodeBadRequest},
		{`"typing"`, "", "", CodeBadRequest},
		{``, "", "", CodeBadRequest},
	}
	for _, tc := range cases {
		in, err := DecodeEvent([]byte(tc.in))
		code := ""
		if err != nil {
			code = err.Code
		}
		if code != tc.code || (err == nil && in.Type != tc.typ) || string(in.ID) != tc.id {
			t.Errorf("DecodeEvent(%s) = %+v, %v", tc.in, in, err)
		}
	}
}

func TestEncodeNewMessage(t *testing.T) {
	sent := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	got := string(EncodeNewMessage(store.Message{ID: 9, Room: "r", From: "ann", Text: "<b>&", Sent: sent}))
	want := `{"type":"new_message","payload":{"id":9,"room":"r","from":"ann","message":"\u003cb\u003e\u0026","sent":"2026-01-02T02:04:05.000Z"}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	var v struct{ Payload messageView }
	if err := json.Unmarshal([]byte(got), &v); err != nil || v.Payload.Message != "<b>&" {
		t.Fatalf("round trip: %+v %v", v, err)
	}
}

func TestValidRoomName(t *testing.T) {
	for name, ok := range map[string]bool{"general": true, "a": true, "A_b-9": true, strings.Repeat("r", 64): true,
		"": false, strings.Repeat("r", 65): false, "a b": false, "é": false, "a/b": false} {
		if ValidRoomName(name) != ok {
			t.Errorf("ValidRoomName(%q) != %v", name, ok)
		}
	}
}
