//go:build unix

package handlers

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// loopbackPair returns both ends of a real TCP connection on 127.0.0.1.
func loopbackPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// TestDirectWriter checks that a direct write puts the frames on the socket
// exactly as writeFrames would, and allocates nothing once the frame buffer
// is pooled: the flusher makes one per delivery.
func TestDirectWriter(t *testing.T) {
	server, client := loopbackPair(t)
	direct := newDirect(server)
	if direct == nil {
		t.Fatal("no direct writer for a TCP connection")
	}
	frames := [][]byte{[]byte(`{"type":"ack"}`), bytes.Repeat([]byte("m"), 300)}
	var want recordConn
	if err := writeFrames(&want, nil, frames); err != nil {
		t.Fatal(err)
	}
	if rest, ok := direct(frames); !ok || len(rest) != 0 {
		t.Fatalf("direct write: ok=%v, %d bytes left", ok, len(rest))
	}
	got := make([]byte, len(want.writes[0]))
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.writes[0]) {
		t.Fatalf("direct write sent % x\nwant % x", got[:16], want.writes[0][:16])
	}

	const runs = 50 // all fit in the socket buffer unread
	allocs := testing.AllocsPerRun(runs, func() {
		if _, ok := direct(frames[:1]); !ok {
			t.Fatal("direct write failed")
		}
	})
	if allocs != 0 {
		t.Fatalf("a direct write allocates %.1f times, want 0", allocs)
	}
}

// TestDirectWriterFull checks that a write larger than the socket takes
// what fits and hands back a copy of exactly the rest.
func TestDirectWriterFull(t *testing.T) {
	server, client := loopbackPair(t)
	if err := server.(*net.TCPConn).SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	direct := newDirect(server)
	big := bytes.Repeat([]byte("x"), 32<<20) // far more than the socket buffers hold
	rest, ok := direct([][]byte{big})
	if !ok || len(rest) == 0 || len(rest) >= len(big) {
		t.Fatalf("first write: ok=%v, %d of %d bytes left", ok, len(rest), len(big))
	}
	sent := len(big) + 10 - len(rest) // a 10-byte header for 32 MiB
	got := make([]byte, sent)
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[10:], big[:sent-10]) || !bytes.Equal(append(got[10:], rest...), big) {
		t.Fatal("what was written and what was handed back are not the frame")
	}
}
