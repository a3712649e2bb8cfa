package chat

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A round of writes yields every yieldEvery, checked every yieldCheck
// connections. A yield that idled (took idleYield or more, with no frame
// read from a client meanwhile) doubles the interval to the next, up to
// maxYieldEvery; any other yield sets it back to yieldEvery.
const (
	yieldEvery    = time.Millisecond
	maxYieldEvery = 16 * time.Millisecond
	yieldCheck    = 16
	pollSleep     = 20 * time.Microsecond
	idleYield     = 500 * time.Microsecond
)

// flusher writes out the queues of connections that have no writer
// running: clients put themselves on its list when a frame is queued for
// them (see Client.push), and a goroutine, started when the list stops
// being empty and ended when it is empty again, takes the list and gives
// each client one direct write of everything it has queued.
//
// This is what lets a write carry several frames. A delivery only queues;
// the write happens once the delivering goroutine lets the flusher run. On
// a quiet server that is at once, so nothing waits. On a busy one, frames
// for a connection gather while the flusher works through the connections
// ahead of it, and they all go out in that connection's next write: the
// busier the server, the fewer system calls per delivery.
//
// A round that has been writing for yieldEvery yields (see yield), so
// that the connections whose frames have arrived meanwhile are read
// before it goes on. Without that, a busy server reads late: a round can
// write to thousands of connections, the runtime polls the network only
// when it has nothing else to run (or every 10 ms), and a frame read late
// is stored and delivered late. The messages read during a round queue
// their frames for the connections it has not reached yet, which is one
// way a busy server's writes come to carry several frames. On a server
// that is not receiving, a yield finds nothing to do and idles, so the
// interval grows while yields idle (see the constants above).
type flusher struct {
	mu      sync.Mutex
	list    []*Client
	spare   []*Client // the last list worked through, for reuse
	running bool      // a round is under way

	// framesIn counts the frames read from clients (Hub.framesIn).
	framesIn *atomic.Uint64

	// now and yield are time.Now and yield, replaced in tests.
	now   func() time.Time
	yield func()
}

// add puts c on the list and starts the flusher when it is not running.
// c.mu is held (lock order: Client.mu before flusher.mu).
func (f *flusher) add(c *Client) {
	f.mu.Lock()
	f.list = append(f.list, c)
	start := !f.running
	f.running = true
	f.mu.Unlock()
	if start {
		go f.run()
	}
}

// run works through the list until it stays empty.
func (f *flusher) run() {
	for {
		f.mu.Lock()
		if len(f.list) == 0 {
			f.running = false
			f.mu.Unlock()
			return
		}
		batch := f.list
		f.list, f.spare = f.spare[:0], nil
		f.mu.Unlock()
		last, every := f.now(), yieldEvery
		for i, c := range batch {
			c.flushQueued()
			batch[i] = nil
			if i%yieldCheck == yieldCheck-1 {
				if now := f.now(); now.Sub(last) >= every {
					in := f.framesIn.Load()
					f.yield()
					last = f.now()
					every = nextYieldEvery(every, last.Sub(now), f.framesIn.Load() != in)
				}
			}
		}
		f.mu.Lock()
		if cap(batch) <= 4096 { // do not keep a huge list after a burst
			f.spare = batch[:0]
		}
		f.mu.Unlock()
	}
}

// nextYieldEvery is the interval to the next yield after one that took
// took, during which frames were read from clients or not.
func nextYieldEvery(every, took time.Duration, read bool) time.Duration {
	if read || took < idleYield {
		return yieldEvery
	}
	return min(2*every, maxYieldEvery)
}

// yield lets the goroutines that are waiting for the processor, and the
// readers of the connections whose frames have arrived, run before the
// round goes on. The sleep is for the readers: if the processor runs out
// of work during it, the runtime polls the network and queues them. A
// goroutine woken by a timer runs before everything queued, so Gosched
// then puts the flusher back behind them; Gosched alone does not poll.
// The sleep lasts at least pollSleep; when nothing at all is left to run
// and no frame arrives, it lasts until the runtime's network wait times
// out, about a millisecond on Linux, hence the growing interval while
// yields idle.
func yield() {
	time.Sleep(pollSleep)
	runtime.Gosched()
}

// flusherFor returns the flusher for a new connection: one per processor
// the runtime may use, taken in turn.
func (h *Hub) flusherFor() *flusher {
	h.flushOnce.Do(func() {
		h.flushers = make([]flusher, runtime.GOMAXPROCS(0))
		for i := range h.flushers {
			h.flushers[i].framesIn = &h.framesIn
			h.flushers[i].now = time.Now
			h.flushers[i].yield = yield
		}
	})
	n := h.flushNext.Add(1)
	return &h.flushers[n%uint64(len(h.flushers))]
}
