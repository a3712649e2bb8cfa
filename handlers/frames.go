package handlers

import (
	"net"
	"sync"
)

// framePool holds the buffers that writeFrames assembles writes in; a
// connection holds one only while it writes, so idle connections hold none.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxPooled is the largest buffer returned to the pool.
const maxPooled = 256 << 10

// writeFrames writes head as it is (the rest of a frame already begun, or
// nothing), then each payload as one unmasked, final text frame (RFC 6455
// section 5.2), all in one write call. Payloads are the hub's shared
// encoded events: they are copied, never modified.
func writeFrames(nc net.Conn, head []byte, payloads [][]byte) error {
	bp := framePool.Get().(*[]byte)
	buf := appendFrames(append((*bp)[:0], head...), payloads)
	_, err := nc.Write(buf)
	putFrameBuf(bp, buf)
	return err
}

// appendFrames appends each payload as one unmasked, final text frame.
func appendFrames(buf []byte, payloads [][]byte) []byte {
	for _, p := range payloads {
		buf = appendFrameHeader(buf, len(p))
		buf = append(buf, p...)
	}
	return buf
}

// putFrameBuf returns buf, taken from the pool as bp, unless it grew big.
func putFrameBuf(bp *[]byte, buf []byte) {
	if cap(buf) <= maxPooled {
		*bp = buf[:0]
		framePool.Put(bp)
	}
}

// appendFrameHeader appends the header of a final text frame of n bytes sent
// by a server (no mask).
func appendFrameHeader(dst []byte, n int) []byte {
	const finText = 0x80 | 0x1
	switch {
	case n < 126:
		return append(dst, finText, byte(n))
	case n <= 0xFFFF:
		return append(dst, finText, 126, byte(n>>8), byte(n))
	default:
		return append(dst, finText, 127,
			byte(uint64(n)>>56), byte(uint64(n)>>48), byte(uint64(n)>>40), byte(uint64(n)>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}
