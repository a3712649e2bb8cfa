//go:build linux

package load

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller reads many connections on one goroutine: it takes the ready
// connections from its own epoll set, without waiting, and reads each as
// soon as the kernel has data for it; when none is ready it parks until
// the set is, through the runtime's network poller, which watches the
// epoll descriptor like a socket.
//
// Why not a goroutine per connection: the Go runtime looks for sockets
// with data only when it has nothing else to run, or every 10 ms. A load
// tool reading 100,000 deliveries a second has nearly always something to
// run, so a delivery waited in its socket for up to 10 ms before its
// reader was woken, and the tool reported that wait as the server's
// latency (kernel receive timestamps showed 8.8 ms of it at the median at
// 1,000 msg/s in 20 rooms of 100). The poller also costs a single read per
// wake-up where a goroutine costs a read and a read that finds nothing.
// It never blocks in epoll_wait itself: a goroutine blocked in a system
// call keeps the processor until the runtime's monitor takes it back,
// which can take 10 ms, and meanwhile nothing else of the tool runs (the
// connect storm's dialers ran a third slower so).
//
// Concurrency: a connection is read only by its poller's goroutine (run)
// from add until it ends, which is when run removes it from conns and
// closes its done channel; only then may its socket be closed, so a file
// descriptor is never read after it could have been reused. detach and
// close ask run for that through the wake-up eventfd.
type poller struct {
	epfd, wake int
	set        *os.File        // the epoll descriptor, for the network poller
	setRaw     syscall.RawConn // set's, for waiting until it is ready
	exited     chan struct{}   // closed when run returns

	mu        sync.Mutex
	conns     map[int32]*Conn // registered connections by descriptor; guarded by mu
	detaching []*Conn         // connections to end at the next wake-up; guarded by mu
	stopping  bool            // add refuses; guarded by mu
	ended     bool            // run has returned or is returning; guarded by mu
	closeOnce sync.Once
}

// errPollerStopped ends the connections still registered when their poller
// stops.
var errPollerStopped = errors.New("the load tool's poller stopped")

// newPoller creates a poller and starts its goroutine.
func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	// Non-blocking, so that os.NewFile hands it to the network poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, err
	}
	set := os.NewFile(uintptr(epfd), "load-poller")
	raw, err := set.SyscallConn()
	wake := -1
	if err == nil {
		wake, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	}
	if err == nil {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
		if err = unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
			unix.Close(wake)
		}
	}
	if err != nil {
		set.Close()
		return nil, err
	}
	p := &poller{epfd: epfd, wake: wake, set: set, setRaw: raw, exited: make(chan struct{}), conns: map[int32]*Conn{}}
	go p.run()
	return p, nil
}

// socketFD returns the descriptor of a plain TCP connection; ok is false
// for anything else (TLS), which is read by a goroutine of its own.
func socketFD(nc net.Conn) (fd int, ok bool) {
	tc, isTCP := nc.(*net.TCPConn)
	if !isTCP {
		return 0, false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0, false
	}
	if rc.Control(func(f uintptr) { fd = int(f) }) != nil {
		return 0, false
	}
	return fd, true
}

// add hands c, whose socket is fd, to the poller. The caller has taken
// every message already in c's buffer; from now on only run reads c.
func (p *poller) add(c *Conn, fd int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return errPollerStopped
	}
	p.conns[int32(fd)] = c
	c.fd = fd
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		delete(p.conns, int32(fd))
		return err
	}
	return nil
}

// detach asks run to stop reading c and end it; c's done channel is closed
// once run has let go of it (at once if c has ended already).
func (p *poller) detach(c *Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return // run ended every connection before it returned
	}
	p.detaching = append(p.detaching, c)
	p.signalLocked()
}

// close stops the poller, ending every connection still registered, and
// releases its descriptors. Close the connections first.
func (p *poller) close() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.stopping = true
		if !p.ended {
			p.signalLocked()
		}
		p.mu.Unlock()
		<-p.exited
		// run has ended, so nothing writes to wake any more.
		p.set.Close()
		unix.Close(p.wake)
	})
}

// signalLocked wakes run up; p.mu is held and run has not ended.
func (p *poller) signalLocked() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(p.wake, one[:])
}

// run is the poller's goroutine; see the poller's invariant.
func (p *poller) run() {
	defer func() {
		p.mu.Lock()
		p.stopping, p.ended = true, true // add fails from now on
		p.mu.Unlock()
		p.endAll(errPollerStopped) // what is still registered
		close(p.exited)
	}()
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := p.ready(events)
		if err != nil {
			p.endAll(err)
			return
		}
		for _, ev := range events[:n] {
			if int(ev.Fd) == p.wake {
				if p.wakeUp() {
					return
				}
				continue
			}
			p.mu.Lock()
			c := p.conns[ev.Fd]
			p.mu.Unlock()
			if c == nil {
				continue // ended earlier in this batch
			}
			if err := c.pollRead(); err != nil {
				p.end(c, err)
			}
		}
	}
}

// ready fills events with what is ready, parking until something is.
func (p *poller) ready(events []unix.EpollEvent) (int, error) {
	var n int
	var werr error
	err := p.setRaw.Read(func(fd uintptr) bool {
		for {
			n, werr = unix.EpollWait(int(fd), events, 0)
			if werr != unix.EINTR {
				return n > 0 || werr != nil
			}
		}
	})
	if err == nil {
		err = werr
	}
	return n, err
}

// wakeUp handles a signal: it ends the connections being detached and
// reports whether the poller stops (run then ends the rest).
func (p *poller) wakeUp() (stop bool) {
	var buf [8]byte
	_, _ = unix.Read(p.wake, buf[:])
	p.mu.Lock()
	list, stopping := p.detaching, p.stopping
	p.detaching = nil
	p.mu.Unlock()
	for _, c := range list {
		p.end(c, net.ErrClosed)
	}
	return stopping
}

// endAll ends every registered connection with err.
func (p *poller) endAll(err error) {
	p.mu.Lock()
	all := make([]*Conn, 0, len(p.conns))
	for _, c := range p.conns {
		all = append(all, c)
	}
	p.mu.Unlock()
	for _, c := range all {
		p.end(c, err)
	}
}

// end unregisters c, if it still is, and ends it with err.
func (p *poller) end(c *Conn, err error) {
	p.mu.Lock()
	registered := p.conns[int32(c.fd)] == c
	if registered {
		delete(p.conns, int32(c.fd))
	}
	p.mu.Unlock()
	if !registered {
		return
	}
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	c.err = err
	close(c.done)
}

// pollRead reads what c's socket holds and handles every whole message in
// it; an error ends the connection.
func (c *Conn) pollRead() error {
	ws := c.ws
	ws.makeRoom(max(ws.need, ws.w-ws.r+1))
	n, err := unix.Read(c.fd, ws.buf[ws.w:])
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return nil
	case err != nil:
		return err
	case n == 0:
		return io.EOF
	}
	ws.w += n
	return c.takeAll()
}
