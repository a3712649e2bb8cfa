package chat

import (
	"runtime"
	"sync"
	"time"
)

// Flusher pacing: a round that took longer than busyRound is followed by
// a pause of half its length, at most maxPause, before the next round.
const (
	busyRound = 5 * time.Millisecond
	maxPause  = 25 * time.Millisecond
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
// A round of writes that took longer than busyRound is followed by a
// pause of half its length (at most maxPause) before the next round, so
// that the frames arriving meanwhile gather into fewer writes. A quiet
// server's rounds are short (a room's members, a millisecond or so) and
// never pause. On a busy one the pause lets the server keep up with more
// load: a write system call per delivery is most of the cost of a
// delivery, with the kernel's loopback or network work behind it on the
// same core. A pause is half the round before it, so pauses go on only
// while the rounds after them stay long, that is while deliveries come
// about as fast as the flusher can write them one by one; below that they
// die out. The pause is bounded (maxPause), and so is what it adds to a
// delivery's latency.
type flusher struct {
	mu      sync.Mutex
	list    []*Client
	spare   []*Client // the last list worked through, for reuse
	running bool      // a round is under way or a pause is pending

	// now and after are time.Now and time.AfterFunc, replaced in tests.
	now   func() time.Time
	after func(time.Duration, func())
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

// run works through the list until it stays empty, or until a round was
// long enough to pause after; then the pause's timer runs it again.
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
		start := f.now()
		for i, c := range batch {
			c.flushQueued()
			batch[i] = nil
		}
		round := f.now().Sub(start)
		f.mu.Lock()
		if cap(batch) <= 4096 { // do not keep a huge list after a burst
			f.spare = batch[:0]
		}
		f.mu.Unlock()
		if p := pauseAfter(round); p > 0 {
			f.after(p, f.run) // running stays true: add leaves the start to the timer
			return
		}
	}
}

// pauseAfter is the pause that follows a round of writes that took round.
func pauseAfter(round time.Duration) time.Duration {
	if round <= busyRound {
		return 0
	}
	return min(round/2, maxPause)
}

// flusherFor returns the flusher for a new connection: one per processor
// the runtime may use, taken in turn.
func (h *Hub) flusherFor() *flusher {
	h.flushOnce.Do(func() {
		h.flushers = make([]flusher, runtime.GOMAXPROCS(0))
		for i := range h.flushers {
			h.flushers[i].now = time.Now
			h.flushers[i].after = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
		}
	})
	n := h.flushNext.Add(1)
	return &h.flushers[n%uint64(len(h.flushers))]
}
