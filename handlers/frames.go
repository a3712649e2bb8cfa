package handlers

import (
	"net"
	"sync"

	"github.com/parley-chat/parley/internal/wsframe"
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
		buf = wsframe.AppendHeader(buf, wsframe.OpText, len(p))
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
