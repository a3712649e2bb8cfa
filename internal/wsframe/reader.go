// Package wsframe reads the WebSocket frames a client sends (RFC 6455
// section 5) and builds the frames a server sends. It is the part of the
// protocol Parley runs itself once a connection is upgraded, so that an
// idle connection holds no read buffer and no more than a small stack.
package wsframe

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"unicode/utf8"
)

// Opcodes (RFC 6455 section 5.2).
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// Errors Next reports for a client that broke the protocol; the server
// answers the first with close code 1002, the second with 1009.
var (
	ErrProtocol = errors.New("wsframe: protocol error")
	ErrTooBig   = errors.New("wsframe: message over the read limit")
)

// MaxControl is the largest payload of a control frame.
const MaxControl = 125

// Reader reads a client's frames from r. Between messages it holds nothing
// but its small header array: each frame is read straight from r with the
// few read calls its header and payload need, and a message's data is
// allocated for that message alone.
type Reader struct {
	r     io.Reader
	limit int64 // largest message, 0 for no limit
	hdr   [12]byte

	// A fragmented message being assembled (op != 0).
	op  int
	msg []byte
}

// NewReader reads frames from r, after the bytes in pre (what was read from
// the connection before it was handed over); messages over limit bytes
// (when limit > 0) fail with ErrTooBig.
func NewReader(r io.Reader, pre []byte, limit int64) *Reader {
	if len(pre) > 0 {
		r = io.MultiReader(bytes.NewReader(pre), r)
	}
	return &Reader{r: r, limit: limit}
}

// Next returns the next complete message (OpText or OpBinary, fragments
// joined) or control frame (OpClose, OpPing, OpPong, with its payload), in
// the order they arrive: a control frame may come between the fragments of
// a message. The data is the caller's. Errors from the connection are
// returned as they are; a broken frame or sequence is ErrProtocol and a
// message over the limit ErrTooBig, reported before its payload is read.
func (r *Reader) Next() (op int, data []byte, err error) {
	for {
		if _, err := io.ReadFull(r.r, r.hdr[:2]); err != nil {
			return 0, nil, err
		}
		b0, b1 := r.hdr[0], r.hdr[1]
		fin, rsv, code := b0&0x80 != 0, b0&0x70, int(b0&0x0F)
		masked, n := b1&0x80 != 0, int64(b1&0x7F)
		if rsv != 0 || !masked {
			return 0, nil, ErrProtocol // no extension was agreed; clients must mask
		}
		ext := 0
		switch n {
		case 126:
			ext = 2
		case 127:
			ext = 8
		}
		if _, err := io.ReadFull(r.r, r.hdr[:ext+4]); err != nil {
			return 0, nil, unexpected(err)
		}
		switch ext {
		case 2:
			n = int64(r.hdr[0])<<8 | int64(r.hdr[1])
			if n < 126 {
				return 0, nil, ErrProtocol // not the shortest form
			}
		case 8:
			if r.hdr[0]&0x80 != 0 {
				return 0, nil, ErrProtocol
			}
			n = 0
			for _, b := range r.hdr[:8] {
				n = n<<8 | int64(b)
			}
			if n <= 0xFFFF {
				return 0, nil, ErrProtocol
			}
		}
		var mask [4]byte
		copy(mask[:], r.hdr[ext:ext+4])

		switch {
		case code >= OpClose:
			if code > OpPong || !fin || n > MaxControl {
				return 0, nil, ErrProtocol
			}
			p, err := r.payload(n, mask)
			if err != nil {
				return 0, nil, err
			}
			if code == OpClose && len(p) == 1 {
				return 0, nil, ErrProtocol
			}
			return code, p, nil
		case code == OpContinuation:
			if r.op == 0 {
				return 0, nil, ErrProtocol // nothing to continue
			}
		case code == OpText || code == OpBinary:
			if r.op != 0 {
				return 0, nil, ErrProtocol // a new message inside another
			}
		default:
			return 0, nil, ErrProtocol
		}
		if r.limit > 0 && n > r.limit-int64(len(r.msg)) { // no overflow: len(r.msg) <= limit
			return 0, nil, ErrTooBig
		}
		p, err := r.payload(n, mask)
		if err != nil {
			return 0, nil, err
		}
		if code != OpContinuation {
			r.op = code
		}
		if fin && r.msg == nil {
			op, r.op = r.op, 0
			return op, p, nil
		}
		r.msg = append(r.msg, p...)
		if fin {
			op, data = r.op, r.msg
			r.op, r.msg = 0, nil
			return op, data, nil
		}
	}
}

// payload reads n bytes and unmasks them. It allocates as the bytes
// arrive, a chunk at a time, so a length that claims far more than the
// client sends costs no more memory than what it sent.
func (r *Reader) payload(n int64, mask [4]byte) ([]byte, error) {
	const chunk = 64 << 10
	p := make([]byte, 0, min(n, chunk))
	for int64(len(p)) < n {
		start := len(p)
		k := int(min(n-int64(start), chunk))
		p = slices.Grow(p, k)[:start+k]
		if _, err := io.ReadFull(r.r, p[start:]); err != nil {
			return nil, unexpected(err)
		}
	}
	for i := range p {
		p[i] ^= mask[i&3]
	}
	return p, nil
}

// unexpected turns an end of input inside a frame into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// AppendHeader appends the header of a final, unmasked frame of n bytes
// with opcode op, as a server sends it.
func AppendHeader(dst []byte, op int, n int) []byte {
	b0 := byte(0x80 | op&0x0F)
	switch {
	case n < 126:
		return append(dst, b0, byte(n))
	case n <= 0xFFFF:
		return append(dst, b0, 126, byte(n>>8), byte(n))
	default:
		return append(dst, b0, 127,
			byte(uint64(n)>>56), byte(uint64(n)>>48), byte(uint64(n)>>40), byte(uint64(n)>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// AppendClose appends a close frame with code and reason (code 0: an empty
// close frame). A reason too long for a control frame is cut.
func AppendClose(dst []byte, code int, reason string) []byte {
	if code == 0 {
		return AppendHeader(dst, OpClose, 0)
	}
	if len(reason) > MaxControl-2 {
		reason = reason[:MaxControl-2]
	}
	dst = AppendHeader(dst, OpClose, 2+len(reason))
	dst = append(dst, byte(code>>8), byte(code))
	return append(dst, reason...)
}

// CloseCode returns the status code of a close frame's payload (1005, "no
// status", for an empty one).
func CloseCode(payload []byte) int {
	if len(payload) < 2 {
		return 1005
	}
	return int(payload[0])<<8 | int(payload[1])
}

// ValidClose reports whether a close frame's payload may be received: no
// status, or a code a peer may send (RFC 6455 section 7.4) with a UTF-8
// reason.
func ValidClose(payload []byte) bool {
	if len(payload) == 0 {
		return true
	}
	switch code := CloseCode(payload); {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014, code >= 3000 && code <= 4999:
	default:
		return false
	}
	return utf8.Valid(payload[2:])
}
