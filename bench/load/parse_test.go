package load

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
)

func TestLoadTextRoundTrip(t *testing.T) {
	tests := []struct {
		sender int
		seq    int64
		ns     int64
		size   int
	}{
		{0, 1, 1700000000000000000, 64},
		{12345, 999999, 42, 0},
		{7, 3, 1, 200},
	}
	for _, tt := range tests {
		text := LoadText(tt.sender, tt.seq, tt.ns, tt.size)
		if tt.size > 0 && len(text) != tt.size {
			t.Errorf("size %d: text has %d characters", tt.size, len(text))
		}
		s, q, ns, ok := ParseLoadText(text)
		if !ok || s != tt.sender || q != tt.seq || ns != tt.ns {
			t.Errorf("ParseLoadText(%q) = %d %d %d %v", text, s, q, ns, ok)
		}
	}
	for _, bad := range []string{"", "hello", "L 1 2", "L x 2 3", "L 1 0 3", "M 1 2 3", "L -1 2 3",
		"L 1 2 99999999999999999999", "L  1 2 3", "L 1 2 3x", "L 99999999999 2 3"} {
		if _, _, _, ok := ParseLoadText([]byte(bad)); ok {
			t.Errorf("ParseLoadText(%q) accepted", bad)
		}
	}
}

func TestBitset(t *testing.T) {
	var b bitset
	for _, i := range []uint64{1, 64, 1000, 63} {
		if !b.set(i) {
			t.Errorf("first set(%d) reported present", i)
		}
	}
	for _, i := range []uint64{1, 64, 1000, 63} {
		if b.set(i) {
			t.Errorf("second set(%d) reported absent", i)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	// Fields 14 and 15 are 250 and 50 ticks; the name holds ") (".
	stat := "1234 (weird) (name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0"
	got, err := parseStatCPU(stat)
	if err != nil || got != 3.0 {
		t.Errorf("parseStatCPU = %v, %v; want 3", got, err)
	}
	if _, err := parseStatCPU("1234 (x) S 1"); err == nil {
		t.Error("a short stat line was accepted")
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
process_resident_memory_bytes 2.097152e+07
go_goroutines 10
`
	s, err := parseMetrics(strings.NewReader(text))
	if err != nil || s.CPU != 12.5 || s.RSS != 20971520 {
		t.Errorf("parseMetrics = %+v, %v", s, err)
	}
	if _, err := parseMetrics(strings.NewReader("go_goroutines 3\n")); err == nil {
		t.Error("metrics without the process series were accepted")
	}
}

func TestFastMessageAgreesWithJSON(t *testing.T) {
	text := LoadText(3, 17, 1700000000000000000, 64)
	parley := chat.EncodeNewMessage(store.Message{ID: 9, Room: "r1", From: "load_3", Text: string(text), Sent: time.Unix(1700000000, 0)})
	plain := []byte(`{"type":"new_message","payload":{"id":9,"room":"r1","from":"u3","message":"` + string(text) + `","sent":"2023-11-14T22:13:20.000Z"}}`)
	for _, data := range [][]byte{parley, plain} {
		got, ok := fastMessage(data)
		var env envelope
		if err := json.Unmarshal(data, &env); err != nil {
			t.Fatal(err)
		}
		if !ok || string(got) != env.Payload.Message || string(got) != string(text) {
			t.Errorf("fastMessage(%s) = %q, %v; JSON says %q", data, got, ok, env.Payload.Message)
		}
	}
	for _, data := range []string{
		`{"type":"new_message","payload":{"id":1,"room":"r","from":"a","message":"say \"hi\"","sent":"x"}}`, // escapes: JSON's job
		`{"type":"ack","payload":{"id":"m1","message_id":4}}`,
		`{"type":"room_joined","payload":{"room":"r","members":[],"history":[{"message":"L 1 2 3"}]}}`,
		`{"type":"new_message","payload":{"id":1,"message":"unterminated`,
		``,
	} {
		if got, ok := fastMessage([]byte(data)); ok {
			t.Errorf("fastMessage(%s) = %q, want a fall back to JSON", data, got)
		}
	}
}

func TestFastRoomJoined(t *testing.T) {
	for data, want := range map[string]string{
		`{"type":"room_joined","payload":{"room":"general","members":["a"],"history":[{"id":1,"room":"general","from":"a","message":"\"x\"","sent":"s"}]}}`: "general",
		`{"type":"room_joined","payload":{"room":"r-1_2","members":[],"history":[]}}`:                                                                       "r-1_2",
	} {
		got, ok := fastRoomJoined([]byte(data))
		var env envelope
		if err := json.Unmarshal([]byte(data), &env); err != nil {
			t.Fatal(err)
		}
		if !ok || got != want || got != env.Payload.Room {
			t.Errorf("fastRoomJoined(%s) = %q, %v; JSON says %q", data, got, ok, env.Payload.Room)
		}
	}
	for _, data := range []string{`{"type":"room_joined","payload":{"members":[],"room":"x"}}`, `{"type":"new_message","payload":{"room":"x"}}`, `{"type":"room_joined","payload":{"room":""}}`} {
		if got, ok := fastRoomJoined([]byte(data)); ok {
			t.Errorf("fastRoomJoined(%s) = %q, want a fall back to JSON", data, got)
		}
	}
}

// TestDeliveryParsingAllocatesNothing: the load tool reads every delivery
// through fastMessage and ParseLoadText, up to 150k a second; garbage
// there would put its own collector into the latencies it measures.
func TestDeliveryParsingAllocatesNothing(t *testing.T) {
	data := chat.EncodeNewMessage(store.Message{ID: 9, Room: "r1", From: "load_3", Text: string(LoadText(3, 17, 1700000000000000000, 64)), Sent: time.Unix(1700000000, 0)})
	allocs := testing.AllocsPerRun(100, func() {
		text, ok := fastMessage(data)
		if _, seq, _, ok2 := ParseLoadText(text); !ok || !ok2 || seq != 17 {
			t.Fatal("not parsed")
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per delivery, want 0", allocs)
	}
}
