// Package listener provides the TCP listener Parley serves on: one that
// outlives running out of file descriptors, and that leaves TCP keep-alive
// off because Parley checks its peers itself.
package listener

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// Backoff bounds: the first wait after a failed accept, and the longest.
// The same as net/http's server uses.
const (
	firstWait = 5 * time.Millisecond
	maxWait   = time.Second
)

// Listen listens on the TCP address addr.
//
// TCP keep-alive is off on the connections it accepts: WebSockets are pinged
// and dropped after the pong wait, and idle HTTP connections are closed by
// the server's idle timeout, so the kernel's probes would only repeat those
// checks, at the price of four socket options per connection.
//
// When an accept fails for want of a resource (the process or system file
// limit, kernel memory, or a connection aborted before it was accepted), the
// listener waits, doubling the wait from 5 ms up to 1 s, and tries again,
// as net/http's server does; a server that stopped accepting for good at its
// file limit would drop every user it has. Pending connections wait in the
// kernel's queue meanwhile. It logs that once a second at most.
func Listen(ctx context.Context, addr string, log *slog.Logger) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return Patient(ln, log), nil
}

// Patient wraps ln so that Accept retries the errors Listen describes.
// Closing the returned listener ends a wait at once.
func Patient(ln net.Listener, log *slog.Logger) net.Listener {
	return &patient{Listener: ln, log: log, closed: make(chan struct{})}
}

type patient struct {
	net.Listener
	log       *slog.Logger
	closeOnce sync.Once
	closed    chan struct{}

	mu      sync.Mutex // guards lastLog and dropped
	lastLog time.Time
	dropped int // failures not logged since lastLog
}

func (p *patient) Accept() (net.Conn, error) {
	wait := time.Duration(0)
	for {
		c, err := p.Listener.Accept()
		if err == nil || !Retryable(err) {
			return c, err
		}
		if wait == 0 {
			wait = firstWait
		} else {
			wait = min(2*wait, maxWait)
		}
		p.note(err, wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-p.closed:
			t.Stop()
			return nil, net.ErrClosed
		}
	}
}

// note logs a failed accept, once a second at most.
func (p *patient) note(err error, wait time.Duration) {
	p.mu.Lock()
	now := time.Now()
	if now.Sub(p.lastLog) < time.Second {
		p.dropped++
		p.mu.Unlock()
		return
	}
	dropped := p.dropped
	p.lastLog, p.dropped = now, 0
	p.mu.Unlock()
	if p.log != nil {
		p.log.Warn("cannot accept connections, retrying", "err", err, "retry_in", wait, "failures_not_logged", dropped)
	}
}

func (p *patient) Close() error {
	p.closeOnce.Do(func() { close(p.closed) })
	return p.Listener.Close()
}

// Retryable reports whether a failed accept is worth trying again: the
// process or the system is out of file descriptors, buffers or memory, or
// the connection was aborted or interrupted before it could be accepted.
func Retryable(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.EINTR, syscall.EAGAIN:
		return true
	}
	return false
}
