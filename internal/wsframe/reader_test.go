package wsframe

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// clientFrame builds a frame as a client sends it: masked, with the given
// first byte (FIN, RSV and opcode) and payload.
func clientFrame(b0 byte, payload []byte) []byte {
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n <= 0xFFFF:
		out = append(out, 0x80|126, byte(n>>8), byte(n))
	default:
		out = append(out, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	out = append(out, mask[:]...)
	for i, b := range payload {
		out = append(out, b^mask[i&3])
	}
	return out
}

const (
	fin  = 0x80
	text = fin | OpText
)

type got struct {
	op   int
	data string
}

// readAll reads frames until an error and returns them with the error.
func readAll(in []byte, pre []byte, limit int64) ([]got, error) {
	r := NewReader(bytes.NewReader(in), pre, limit)
	var out []got
	for {
		op, data, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, got{op, string(data)})
	}
}

func cat(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

func TestReaderMessages(t *testing.T) {
	mid := strings.Repeat("m", 300)    // 16-bit length
	big := strings.Repeat("b", 70_000) // 64-bit length
	in := cat(
		clientFrame(text, []byte("hello")),
		clientFrame(OpText, []byte("frag")),            // first fragment
		clientFrame(fin|OpPing, []byte("p")),           // a control frame in between
		clientFrame(OpContinuation, []byte("men")),     // more
		clientFrame(fin|OpContinuation, []byte("ted")), // last
		clientFrame(fin|OpBinary, []byte{0, 1, 2}),
		clientFrame(text, []byte(mid)),
		clientFrame(text, []byte(big)),
		clientFrame(text, nil),
		clientFrame(fin|OpPong, nil),
		clientFrame(fin|OpClose, []byte{0x03, 0xE8, 'b', 'y', 'e'}),
	)
	frames, err := readAll(in, nil, 0)
	if err != io.EOF {
		t.Fatalf("ended with %v, want EOF", err)
	}
	want := []got{
		{OpText, "hello"}, {OpPing, "p"}, {OpText, "fragmented"}, {OpBinary, "\x00\x01\x02"},
		{OpText, mid}, {OpText, big}, {OpText, ""}, {OpPong, ""}, {OpClose, "\x03\xe8bye"},
	}
	if len(frames) != len(want) {
		t.Fatalf("%d frames, want %d", len(frames), len(want))
	}
	for i := range want {
		if frames[i] != want[i] {
			t.Errorf("frame %d: op %d %.20q, want op %d %.20q", i, frames[i].op, frames[i].data, want[i].op, want[i].data)
		}
	}
	if c := CloseCode([]byte(frames[8].data)); c != 1000 {
		t.Errorf("close code %d", c)
	}
}

func TestReaderReadsWhatCameBeforeTheHandover(t *testing.T) {
	f := cat(clientFrame(text, []byte("one")), clientFrame(text, []byte("two")))
	frames, err := readAll(f[5:], f[:5], 0) // the first frame split across pre and the connection
	if err != io.EOF || len(frames) != 2 || frames[0].data != "one" || frames[1].data != "two" {
		t.Fatalf("%v, %v", frames, err)
	}
}

func TestReaderRefusesBrokenFrames(t *testing.T) {
	unmasked := []byte{text, 2, 'h', 'i'}
	long16 := clientFrame(text, []byte("short"))
	long16 = append([]byte{text, 0x80 | 126, 0, 5}, long16[2:]...) // 5 in the 16-bit form
	for name, in := range map[string][]byte{
		"unmasked":               unmasked,
		"reserved bit":           clientFrame(text|0x40, []byte("x")),
		"unknown opcode":         clientFrame(fin|0x3, []byte("x")),
		"unknown control opcode": clientFrame(fin|0xB, nil),
		"continuation first":     clientFrame(fin|OpContinuation, []byte("x")),
		"message in a message":   cat(clientFrame(OpText, []byte("a")), clientFrame(text, []byte("b"))),
		"fragmented control":     clientFrame(OpPing, []byte("x")),
		"long control":           clientFrame(fin|OpPing, bytes.Repeat([]byte("x"), 126)),
		"one-byte close":         clientFrame(fin|OpClose, []byte{3}),
		"non-minimal length":     long16,
	} {
		if _, err := readAll(in, nil, 0); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v, want ErrProtocol", name, err)
		}
	}
}

func TestReaderLimit(t *testing.T) {
	for name, in := range map[string][]byte{
		"one frame": clientFrame(text, bytes.Repeat([]byte("x"), 11)),
		"fragments": cat(clientFrame(OpText, []byte("123456")), clientFrame(fin|OpContinuation, []byte("789012"))),
	} {
		frames, err := readAll(in, nil, 10)
		if !errors.Is(err, ErrTooBig) || len(frames) != 0 {
			t.Errorf("%s: %v, %v; want ErrTooBig", name, frames, err)
		}
	}
	// A length so large that adding it to what is held would overflow.
	huge := cat(clientFrame(OpText, []byte("1")), []byte{OpContinuation, 0x80 | 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4}, bytes.Repeat([]byte("x"), 1<<16))
	if frames, err := readAll(huge, nil, 4096); !errors.Is(err, ErrTooBig) || len(frames) != 0 {
		t.Errorf("huge continuation: %v, %v; want ErrTooBig", frames, err)
	}
	if frames, err := readAll(clientFrame(text, bytes.Repeat([]byte("x"), 10)), nil, 10); err != io.EOF || len(frames) != 1 {
		t.Errorf("at the limit: %v, %v", frames, err)
	}
}

func TestReaderCutShort(t *testing.T) {
	f := clientFrame(text, []byte("hello"))
	for n := 1; n < len(f); n++ {
		if _, err := readAll(f[:n], nil, 0); err != io.ErrUnexpectedEOF {
			t.Errorf("cut at %d: %v, want ErrUnexpectedEOF", n, err)
		}
	}
}

func TestAppendClose(t *testing.T) {
	f := AppendClose(nil, 1013, strings.Repeat("r", 200))
	if f[0] != fin|OpClose || int(f[1]) != MaxControl || CloseCode(f[2:]) != 1013 {
		t.Fatalf("close frame % x", f[:4])
	}
	if f := AppendClose(nil, 0, "ignored"); len(f) != 2 || f[1] != 0 {
		t.Fatalf("empty close frame % x", f)
	}
}

func FuzzReader(f *testing.F) {
	f.Add(clientFrame(text, []byte("hello")), int64(0))
	f.Add(cat(clientFrame(OpText, []byte("a")), clientFrame(fin|OpPing, nil), clientFrame(fin|OpContinuation, []byte("b"))), int64(4))
	f.Add(clientFrame(fin|OpClose, []byte{3, 232}), int64(1))
	f.Add([]byte{text, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 1, 2, 3, 4}, int64(100))
	f.Fuzz(func(t *testing.T, in []byte, limit int64) {
		if limit < 0 {
			limit = -limit
		}
		r := NewReader(bytes.NewReader(in), nil, limit)
		for {
			op, data, err := r.Next()
			if err != nil {
				return
			}
			switch op {
			case OpText, OpBinary:
				if limit > 0 && int64(len(data)) > limit {
					t.Fatalf("a %d-byte message passed the limit of %d", len(data), limit)
				}
			case OpClose, OpPing, OpPong:
				if len(data) > MaxControl {
					t.Fatalf("a %d-byte control frame", len(data))
				}
			default:
				t.Fatalf("opcode %d returned", op)
			}
			if len(data) > len(in) {
				t.Fatalf("%d bytes of data from %d of input", len(data), len(in))
			}
		}
	})
}

func TestValidClose(t *testing.T) {
	for _, c := range []struct {
		payload []byte
		ok      bool
	}{
		{nil, true},
		{[]byte{0x03, 0xE8}, true},           // 1000
		{[]byte{0x03, 0xE8, 'o', 'k'}, true}, // with a reason
		{[]byte{0x0B, 0xB8}, true},           // 3000
		{[]byte{0x03, 0xED}, false},          // 1005: never sent
		{[]byte{0x03, 0xEE}, false},          // 1006: never sent
		{[]byte{0x03, 0xE7}, false},          // 999
		{[]byte{0x13, 0x88}, false},          // 5000
		{[]byte{0x03, 0xE8, 0xFF}, false},    // a reason that is not UTF-8
	} {
		if got := ValidClose(c.payload); got != c.ok {
			t.Errorf("ValidClose(% x) = %v", c.payload, got)
		}
	}
}

// BenchmarkReaderNext reads a typical client event (a send_message of 100
// bytes) from a masked frame.
func BenchmarkReaderNext(b *testing.B) {
	frame := clientFrame(text, []byte(`{"type":"send_message","id":"m1","payload":{"message":"`+strings.Repeat("x", 48)+`"}}`))
	in := bytes.Repeat(frame, 1024)
	src := bytes.NewReader(in)
	r := NewReader(src, nil, 1<<20)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, _, err := r.Next(); err != nil {
			src.Reset(in)
			if _, _, err := r.Next(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
