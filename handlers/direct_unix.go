//go:build unix

package handlers

import (
	"bytes"
	"net"
	"syscall"
)

// directWriter writes a hijacked TCP connection's frames with one
// non-blocking write system call, for the hub's flusher. Its callback is
// bound once, when the connection is set up, so that a write allocates
// nothing: at tens of thousands of deliveries a second, a closure per write
// was most of what the server allocated, and so most of its garbage
// collections. The client's lock is held around every direct write, so one
// goroutine at a time uses buf and n.
type directWriter struct {
	raw syscall.RawConn
	buf []byte
	n   int
	cb  func(fd uintptr) bool // d.write, bound once
}

// newDirect returns the direct write function of a hijacked TCP
// connection, or nil when it has no system-call view (TLS, or a wrapper we
// do not know): then its writer sends everything.
func newDirect(nc net.Conn) func([][]byte) ([]byte, bool) {
	if u, ok := nc.(interface{ UnsafeConn() net.Conn }); ok {
		nc = u.UnsafeConn()
	}
	sc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	d := &directWriter{raw: raw}
	d.cb = d.write
	return d.frames
}

// write is the system call, run by raw.Write with the socket's descriptor.
func (d *directWriter) write(fd uintptr) bool {
	d.n, _ = syscall.Write(int(fd), d.buf)
	return true // never wait for the socket: that is the writer's job
}

// frames writes frames, each as one final text frame, with a single
// non-blocking write system call. It reports whether anything was written
// and returns a copy of what was not; on any error (the socket's buffer
// full, the connection gone) nothing was written and the frames go to the
// writer instead.
func (d *directWriter) frames(frames [][]byte) (rest []byte, ok bool) {
	bp := framePool.Get().(*[]byte)
	d.buf, d.n = appendFrames((*bp)[:0], frames), -1
	err := d.raw.Write(d.cb)
	if n := d.n; err == nil && n > 0 {
		ok = true
		if n < len(d.buf) {
			rest = bytes.Clone(d.buf[n:])
		}
	}
	putFrameBuf(bp, d.buf)
	d.buf = nil
	return rest, ok
}
