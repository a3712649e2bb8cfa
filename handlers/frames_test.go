package handlers

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
)

// TestWriteFrames checks the frames writeFrames builds, at each length
// encoding of RFC 6455 section 5.2, and that they all go in one write.
func TestWriteFrames(t *testing.T) {
	payloads := [][]byte{
		[]byte(`{"type":"ack"}`),
		bytes.Repeat([]byte("a"), 125),
		bytes.Repeat([]byte("b"), 126),
		bytes.Repeat([]byte("c"), 65535),
		bytes.Repeat([]byte("d"), 65536),
	}
	var w recordConn
	if err := writeFrames(&w, nil, payloads); err != nil {
		t.Fatal(err)
	}
	if len(w.writes) != 1 {
		t.Fatalf("%d writes, want 1", len(w.writes))
	}
	rest := w.writes[0]
	for i, want := range payloads {
		if len(rest) < 2 || rest[0] != 0x81 || rest[1]&0x80 != 0 {
			t.Fatalf("frame %d: header % x", i, rest[:min(len(rest), 2)])
		}
		n, h := int(rest[1]), 2
		switch n {
		case 126:
			n, h = int(binary.BigEndian.Uint16(rest[2:])), 4
		case 127:
			n, h = int(binary.BigEndian.Uint64(rest[2:])), 10
		}
		if n != len(want) || !bytes.Equal(rest[h:h+n], want) {
			t.Fatalf("frame %d: length %d, want %d", i, n, len(want))
		}
		if want := map[int]int{14: 2, 125: 2, 126: 4, 65535: 4, 65536: 10}[n]; h != want {
			t.Fatalf("frame %d: %d-byte header, want %d", i, h, want)
		}
		rest = rest[h+n:]
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes after the frames", len(rest))
	}
}

// recordConn is a net.Conn that keeps a copy of each write.
type recordConn struct {
	net.Conn
	writes [][]byte
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

// discardConn is a net.Conn whose writes go nowhere.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkWriteFrames measures assembling one write of n queued frames
// (a typical new_message each), without the system call.
func BenchmarkWriteFrames(b *testing.B) {
	frame := []byte(`{"type":"new_message","payload":{"id":123456,"room":"room-7","from":"load_17","message":"` +
		string(bytes.Repeat([]byte("x"), 64)) + `","sent":"2026-11-25T07:00:00.000Z"}}`)
	for _, n := range []int{1, 8, 64} {
		frames := make([][]byte, n)
		for i := range frames {
			frames[i] = frame
		}
		b.Run(fmt.Sprintf("frames=%d", n), func(b *testing.B) {
			b.SetBytes(int64(n * len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if err := writeFrames(discardConn{}, nil, frames); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
