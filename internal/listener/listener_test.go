package listener

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// lineLog is a slog handler's writer that hands each line to a channel.
type lineLog struct{ lines chan string }

func (l lineLog) Write(p []byte) (int, error) {
	l.lines <- string(p)
	return len(p), nil
}

func newLineLog() (*slog.Logger, chan string) {
	lines := make(chan string, 100)
	return slog.New(slog.NewTextHandler(lineLog{lines}, nil)), lines
}

// TestAcceptOutlivesFileLimit runs the listener out of file descriptors
// for real: with the soft limit at the lowest free descriptor number, an
// accept fails with EMFILE. The listener must log that and keep trying, and
// accept the waiting connection once the limit allows it again.
func TestAcceptOutlivesFileLimit(t *testing.T) {
	log, lines := newLineLog()
	ln, err := Listen(context.Background(), "127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	waiting, err := net.Dial("tcp", ln.Addr().String()) // in the kernel's queue
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()

	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	free, err := lowestFree()
	if err != nil {
		t.Fatal(err)
	}
	tight := old
	tight.Cur = uint64(free)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &tight); err != nil {
		t.Fatal(err)
	}
	restore := sync.OnceFunc(func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
			t.Error(err)
		}
	})
	defer restore()

	type result struct {
		c   net.Conn
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		accepted <- result{c, err}
	}()
	select {
	case line := <-lines:
		if !strings.Contains(line, "cannot accept") || !strings.Contains(line, "too many open files") {
			t.Fatalf("log line %q, want one about running out of files", line)
		}
	case r := <-accepted:
		t.Fatalf("accepted (%v, %v) with no descriptor free", r.c, r.err)
	}
	restore()
	r := <-accepted
	if r.err != nil {
		t.Fatalf("Accept after a descriptor was freed: %v", r.err)
	}
	r.c.Close()
}

// lowestFree is the descriptor number the next open would get: the limit
// is on descriptor numbers, and a new descriptor takes the lowest free one.
func lowestFree() (int, error) {
	fd, err := syscall.Dup(0)
	if err != nil {
		return 0, err
	}
	return fd, syscall.Close(fd)
}

// TestCloseEndsTheWait: a listener waiting to retry returns at once when
// it is closed, so that a shutdown is not held up by the backoff.
func TestCloseEndsTheWait(t *testing.T) {
	log, lines := newLineLog()
	inner := &failing{err: &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}, closed: make(chan struct{})}
	ln := Patient(inner, log)
	done := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		done <- err
	}()
	<-lines // it failed once and is waiting
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
	}
}

// failing is a listener whose Accept fails with err until it is closed.
type failing struct {
	err    error
	once   sync.Once
	closed chan struct{}
}

func (f *failing) Accept() (net.Conn, error) {
	select {
	case <-f.closed:
		return nil, net.ErrClosed
	default:
		return nil, f.err
	}
}
func (f *failing) Close() error   { f.once.Do(func() { close(f.closed) }); return nil }
func (f *failing) Addr() net.Addr { return &net.TCPAddr{} }

func TestRetryable(t *testing.T) {
	wrap := func(e syscall.Errno) error {
		return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", e)}
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{wrap(syscall.EMFILE), true},
		{wrap(syscall.ENFILE), true},
		{wrap(syscall.ENOBUFS), true},
		{wrap(syscall.ENOMEM), true},
		{wrap(syscall.ECONNABORTED), true},
		{wrap(syscall.EINVAL), false},
		{wrap(syscall.EBADF), false},
		{net.ErrClosed, false},
		{fmt.Errorf("accept: %w", net.ErrClosed), false},
		{io.EOF, false},
		{&net.OpError{Op: "accept", Net: "tcp", Err: errors.New("use of closed network connection")}, false},
	} {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestLogsOnceASecond: a listener that keeps failing logs the first
// failure and then stays quiet while it backs off, instead of a line per
// attempt.
func TestLogsOnceASecond(t *testing.T) {
	log, lines := newLineLog()
	inner := &failing{err: &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}, closed: make(chan struct{})}
	p := Patient(inner, log).(*patient)
	start := time.Now()
	for range 50 {
		p.note(inner.err, firstWait)
	}
	n := len(lines)
	if time.Since(start) < time.Second && n != 1 {
		t.Fatalf("%d log lines for 50 failures within a second, want 1", n)
	}
	if p.dropped != 50-n {
		t.Fatalf("dropped %d, want %d", p.dropped, 50-n)
	}
}
