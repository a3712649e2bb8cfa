package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	randv2 "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/wsframe"
)

// wsGUID is the key suffix of the opening handshake (RFC 6455 section 1.3).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// maxMessage bounds one message from the server; both servers send far
// less (a room_joined with 50 messages of history is about 9 KB).
const maxMessage = 16 << 20

// wsConn is the client side of one WebSocket connection, the load tool's
// own: the opening handshake is written and read directly, and a frame
// costs one read into a buffer the connection keeps, so that the tool
// spends its core on the scenario rather than on a general client.
//
// Concurrency: one goroutine reads (next); writes of any kind go one at a
// time under wmu, so the reader may answer a ping while another goroutine
// sends a message.
type wsConn struct {
	nc   net.Conn
	buf  []byte // buf[r:w] is read from the socket but not yet returned
	r, w int
	need int    // unread bytes buf must hold for take to go on (poller only)
	frag []byte // a fragmented message being put together

	wmu  sync.Mutex
	wbuf []byte // guarded by wmu
}

// HandshakeError is a refused opening handshake.
type HandshakeError struct {
	Status int // the HTTP status, 0 if the answer was not HTTP
	Reason string
}

func (e *HandshakeError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Reason)
	}
	return e.Reason
}

// CloseError is a close frame from the server.
type CloseError struct {
	Code int
	Text string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("closed by the server: %d %s", e.Code, e.Text)
}

// wsDial connects to u (ws:// or wss://) with nd and performs the opening
// handshake, bounded by ctx.
func wsDial(ctx context.Context, nd *net.Dialer, u *url.URL) (*wsConn, error) {
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "wss" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	nc, err := nd.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "wss" {
		tc := tls.Client(nc, &tls.Config{ServerName: u.Hostname()})
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	c := &wsConn{nc: nc, buf: make([]byte, 4<<10)}
	if err := c.handshake(ctx, u); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// handshake writes the upgrade request and reads the answer; bytes after
// the answer's head (frames the server sent at once) stay in buf.
func (c *wsConn) handshake(ctx context.Context, u *url.URL) error {
	if d, ok := ctx.Deadline(); ok {
		_ = c.nc.SetDeadline(d)
		defer c.nc.SetDeadline(time.Time{})
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	key := base64.StdEncoding.EncodeToString(raw[:])
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c.nc, req); err != nil {
		return err
	}
	end := -1
	for end < 0 {
		if c.w == len(c.buf) {
			return &HandshakeError{Reason: "answer head too long"}
		}
		n, err := c.nc.Read(c.buf[c.w:])
		c.w += n
		if i := bytes.Index(c.buf[:c.w], []byte("\r\n\r\n")); i >= 0 {
			end = i + 4
		} else if err != nil {
			return err
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(c.buf[:end])), nil)
	if err != nil {
		return &HandshakeError{Reason: "bad answer: " + err.Error()}
	}
	resp.Body.Close()
	c.r = end
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return &HandshakeError{Status: resp.StatusCode, Reason: "the server refused the upgrade"}
	}
	if resp.Header.Get("Sec-WebSocket-Accept") != acceptFor(key) {
		return &HandshakeError{Status: resp.StatusCode, Reason: "wrong Sec-WebSocket-Accept"}
	}
	return nil
}

// acceptFor is the server's answer to a client's key (RFC 6455 section 4.2.2).
func acceptFor(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// makeRoom arranges buf so that it can hold n unread bytes from r on,
// moving what is unread to the front or growing buf for a long frame.
func (c *wsConn) makeRoom(n int) {
	if c.r == c.w {
		c.r, c.w = 0, 0
	}
	if len(c.buf)-c.r >= n {
		return
	}
	if n > len(c.buf) {
		nb := make([]byte, max(n, 2*len(c.buf)))
		c.w = copy(nb, c.buf[c.r:c.w])
		c.buf = nb
	} else {
		c.w = copy(c.buf, c.buf[c.r:c.w])
	}
	c.r = 0
}

// fill makes sure at least n unread bytes are in buf, reading as needed.
func (c *wsConn) fill(n int) error {
	for c.w-c.r < n {
		c.makeRoom(n)
		k, err := c.nc.Read(c.buf[c.w:])
		c.w += k
		if err != nil && c.w-c.r < n {
			return err
		}
	}
	return nil
}

// next returns the next text or binary message, valid until the next
// call, reading from the socket as needed; see take.
func (c *wsConn) next() ([]byte, error) {
	for {
		msg, need, err := c.take()
		if err != nil || need == 0 {
			return msg, err
		}
		if err := c.fill(need); err != nil {
			return nil, err
		}
	}
}

// take returns the next text or binary message from what buf holds,
// without reading: need is 0 and msg the message (valid until buf changes),
// or need is how many unread bytes buf must hold before take can go on. It
// answers pings, skips pongs, puts fragments together, and ends with a
// *CloseError at a close frame (after answering it).
func (c *wsConn) take() (msg []byte, need int, err error) {
	for {
		if c.w-c.r < 2 {
			return nil, 2, nil
		}
		b0, b1 := c.buf[c.r], c.buf[c.r+1]
		if b1&0x80 != 0 {
			return nil, 0, errors.New("a masked frame from the server")
		}
		if b0&0x70 != 0 {
			return nil, 0, errors.New("reserved bits set")
		}
		h, n := 2, int64(b1&0x7f)
		switch n {
		case 126:
			if c.w-c.r < 4 {
				return nil, 4, nil
			}
			h, n = 4, int64(binary.BigEndian.Uint16(c.buf[c.r+2:]))
		case 127:
			if c.w-c.r < 10 {
				return nil, 10, nil
			}
			h, n = 10, int64(binary.BigEndian.Uint64(c.buf[c.r+2:]))
		}
		if n < 0 || n > maxMessage || int64(len(c.frag))+n > maxMessage {
			return nil, 0, fmt.Errorf("a %d-byte frame: over the %d-byte limit", n, maxMessage)
		}
		if c.w-c.r < h+int(n) {
			return nil, h + int(n), nil
		}
		payload := c.buf[c.r+h : c.r+h+int(n)]
		c.r += h + int(n)
		fin, op := b0&0x80 != 0, int(b0&0x0f)
		if op >= wsframe.OpClose && (!fin || n > wsframe.MaxControl) {
			return nil, 0, errors.New("a fragmented or long control frame")
		}
		switch op {
		case wsframe.OpText, wsframe.OpBinary:
			if c.frag != nil {
				return nil, 0, errors.New("a new message inside a fragmented one")
			}
			if fin {
				return payload, 0, nil
			}
			c.frag = append(make([]byte, 0, 2*len(payload)), payload...)
		case wsframe.OpContinuation:
			if c.frag == nil {
				return nil, 0, errors.New("a continuation frame outside a message")
			}
			c.frag = append(c.frag, payload...)
			if fin {
				msg := c.frag
				c.frag = nil
				return msg, 0, nil
			}
		case wsframe.OpPing:
			// A pong that cannot be written is the writer's problem to
			// report, as with gorilla/websocket's default ping handler.
			c.answer(wsframe.OpPong, payload, 10*time.Second)
		case wsframe.OpPong:
		case wsframe.OpClose:
			ce := &CloseError{Code: wsframe.CloseCode(payload)}
			if len(payload) >= 2 {
				ce.Text = string(payload[2:])
			}
			c.answer(wsframe.OpClose, closePayload(ce.Code), time.Second)
			return nil, 0, ce
		default:
			return nil, 0, fmt.Errorf("unknown opcode %d", op)
		}
	}
}

// answer writes a control frame the reader owes the server. The reader
// may be a poller serving many connections, which must not wait behind
// this one's sender (blocked, say, on a server that stopped reading): when
// another write is under way, the answer goes from a goroutine of its own.
func (c *wsConn) answer(op int, payload []byte, wait time.Duration) {
	if c.wmu.TryLock() {
		_ = c.writeFrameLocked(op, payload, time.Now().Add(wait))
		c.wmu.Unlock()
		return
	}
	p := bytes.Clone(payload) // payload is the reader's buffer
	go func() { _ = c.writeFrame(op, p, time.Now().Add(wait)) }()
}

// closePayload is a close frame's payload with code (none for 1005).
func closePayload(code int) []byte {
	if code == 1005 {
		return nil
	}
	return binary.BigEndian.AppendUint16(nil, uint16(code))
}

// writeFrame sends payload as one final, masked frame of opcode op.
func (c *wsConn) writeFrame(op int, payload []byte, deadline time.Time) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeFrameLocked(op, payload, deadline)
}

// writeFrameLocked is writeFrame with wmu held.
func (c *wsConn) writeFrameLocked(op int, payload []byte, deadline time.Time) error {
	b := wsframe.AppendHeader(c.wbuf[:0], op, len(payload))
	b[1] |= 0x80 // masked, as a client's frames must be
	// The mask only has to differ between frames (RFC 6455 section 5.3):
	// a client that is not a browser runs no untrusted code to exploit a
	// predictable one.
	key := randv2.Uint32()
	b = binary.LittleEndian.AppendUint32(b, key)
	start := len(b)
	b = append(b, payload...)
	var k [4]byte
	binary.LittleEndian.PutUint32(k[:], key)
	for i := range payload {
		b[start+i] ^= k[i&3]
	}
	c.wbuf = b
	_ = c.nc.SetWriteDeadline(deadline)
	_, err := c.nc.Write(b)
	return err
}
