package chat

import (
	"runtime"
	"sync"
	"time"
)

// A long round of writes lets the rest of the server run every
// yieldEvery, checked every yieldCheck connections.
const (
	yieldEvery = time.Millisecond
	yieldCheck = 16
	yieldSleep = 20 * time.Microsecond
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
// is stored and delivered late. Yielding is also what makes the busy
// server's writes carry several frames: the messages read during a round
// queue their frames for the connections it has not reached yet.
type flusher struct {
	mu      sync.Mutex
	list    []*Client
	spare   []*Client // the last list worked through, for reuse
	running bool      // a round is under way

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
		last := f.now()
		for i, c := range batch {
			c.flushQueued()
			batch[i] = nil
			if i%yieldCheck == yieldCheck-1 {
				if now := f.now(); now.Sub(last) >= yieldEvery {
					f.yield()
					last = f.now()
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

// yield lets the goroutines that are waiting for the processor, and the
// connections whose frames have arrived, run before the round goes on.
// The sleep leaves the runtime with nothing else to run, so it polls the
// network and queues those connections' readers. A goroutine woken by a
// timer runs before everything queued, so when the sleep ends Gosched puts
// the flusher back behind them. Neither alone is enough: Gosched does not
// poll the network, and after the sleep alone the flusher would run ahead
// of the readers the poll woke.
func yield() {
	time.Sleep(yieldSleep)
	runtime.Gosched()
}

// flusherFor returns the flusher for a new connection: one per processor
// the runtime may use, taken in turn.
func (h *Hub) flusherFor() *flusher {
	h.flushOnce.Do(func() {
		h.flushers = make([]flusher, runtime.GOMAXPROCS(0))
		for i := range h.flushers {
			h.flushers[i].now = time.Now
			h.flushers[i].yield = yield
		}
	})
	n := h.flushNext.Add(1)
	return &h.flushers[n%uint64(len(h.flushers))]
}
