//go:build unix

package handlers

import (
	"bytes"
	"net"
	"syscall"
)

// rawConn returns the system-call view of a hijacked TCP connection, or
// nil when it has none (TLS, or a wrapper we do not know).
func rawConn(nc net.Conn) syscall.RawConn {
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
	return raw
}

// writeDirect writes frames, each as one final text frame, with a single
// non-blocking write system call. It reports whether anything was written
// and returns a copy of what was not; on any error (the socket's buffer
// full, the connection gone) nothing was written and the frames go to the
// writer instead.
func writeDirect(raw syscall.RawConn, frames [][]byte) (rest []byte, ok bool) {
	bp := framePool.Get().(*[]byte)
	buf := appendFrames((*bp)[:0], frames)
	n := -1
	err := raw.Write(func(fd uintptr) bool {
		n, _ = syscall.Write(int(fd), buf)
		return true // never wait for the socket: that is the writer's job
	})
	if err == nil && n > 0 {
		ok = true
		if n < len(buf) {
			rest = bytes.Clone(buf[n:])
		}
	}
	putFrameBuf(bp, buf)
	return rest, ok
}
