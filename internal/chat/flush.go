package chat

import (
	"runtime"
	"sync"
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
type flusher struct {
	mu      sync.Mutex
	list    []*Client
	spare   []*Client // the last list worked through, for reuse
	running bool
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
		for i, c := range batch {
			c.flushQueued()
			batch[i] = nil
		}
		f.mu.Lock()
		if cap(batch) <= 4096 { // do not keep a huge list after a burst
			f.spare = batch[:0]
		}
		f.mu.Unlock()
	}
}

// flusherFor returns the flusher for a new connection: one per processor
// the runtime may use, taken in turn.
func (h *Hub) flusherFor() *flusher {
	h.flushOnce.Do(func() { h.flushers = make([]flusher, runtime.GOMAXPROCS(0)) })
	n := h.flushNext.Add(1)
	return &h.flushers[n%uint64(len(h.flushers))]
}
