package chat

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// flushRig is a flusher on a clock the test moves, with clients whose
// direct writes are recorded and advance the clock by perWrite.
type flushRig struct {
	fl       *flusher
	clients  []*Client
	perWrite time.Duration

	mu      sync.Mutex
	clock   time.Time
	writes  []string // "<client> <frames…>", in write order
	yields  int
	onYield func(n int) // the yield's work, run on the flusher's goroutine
	done    chan struct{}
	want    int // writes after which done is closed
}

func newFlushRig(n int, perWrite time.Duration) *flushRig {
	r := &flushRig{perWrite: perWrite, clock: time.Unix(0, 0), done: make(chan struct{})}
	r.fl = &flusher{
		now: func() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.clock },
		yield: func() {
			r.mu.Lock()
			r.yields++
			n, f := r.yields, r.onYield
			r.mu.Unlock()
			if f != nil {
				f(n)
			}
		},
	}
	for i := range n {
		c := benchClient()
		name := fmt.Sprint(i)
		c.fl = r.fl
		c.direct = func(frames [][]byte) ([]byte, bool) {
			parts := []string{name}
			for _, f := range frames {
				parts = append(parts, string(f))
			}
			r.mu.Lock()
			r.clock = r.clock.Add(r.perWrite)
			r.writes = append(r.writes, strings.Join(parts, " "))
			if len(r.writes) == r.want {
				close(r.done)
			}
			r.mu.Unlock()
			return nil, true
		}
		r.clients = append(r.clients, c)
	}
	return r
}

// run queues frame for every client, in order, with the flusher held off
// until all are queued (as when one goroutine delivers a batch), and waits
// for want writes.
func (r *flushRig) run(t *testing.T, frame string, want int) []string {
	t.Helper()
	r.mu.Lock()
	r.want = len(r.writes) + want
	r.mu.Unlock()
	r.fl.mu.Lock()
	r.fl.running = true // the deliverer holds the processor until it is done
	r.fl.mu.Unlock()
	for _, c := range r.clients {
		c.enqueue(0, []byte(frame))
	}
	go r.fl.run()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the flusher did not write everything")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.writes...)
}

// TestFlusherYieldsDuringALongRound: a round that has been writing for
// yieldEvery yields, and the frames queued during the yield go out with the
// round: in the same write as the earlier frames of a connection the round
// has not reached yet, and in a round of their own for one it has passed.
func TestFlusherYieldsDuringALongRound(t *testing.T) {
	const n = 40
	// 100 µs a write: the round reaches 1 ms after 10 writes, and yields at
	// the first check after that, after the 16th.
	r := newFlushRig(n, 100*time.Microsecond)
	r.onYield = func(k int) {
		if k == 1 { // a message read during the first yield, for clients 3 and 30
			r.clients[3].enqueue(0, []byte("late"))
			r.clients[30].enqueue(0, []byte("late"))
		}
	}
	writes := r.run(t, "m", n+1)

	r.mu.Lock()
	yields := r.yields
	r.mu.Unlock()
	if yields != 2 {
		t.Errorf("%d yields in a round of %d writes of 100 µs, want 2 (after the 16th and the 32nd)", yields, n)
	}
	for i := range n {
		want := fmt.Sprint(i, " m")
		if i == 30 {
			want += " late" // not reached yet: one write for both frames
		}
		if writes[i] != want {
			t.Errorf("write %d = %q, want %q", i, writes[i], want)
		}
	}
	if got := writes[n]; got != "3 late" {
		t.Errorf("last write %q, want client 3's late frame in the next round", got)
	}
}

// TestFlusherQuickRoundDoesNotYield: a round shorter than yieldEvery
// writes everything without yielding, and the flusher stops when its list
// is empty, so the next frame starts it again.
func TestFlusherQuickRoundDoesNotYield(t *testing.T) {
	const n = 200
	r := newFlushRig(n, 4*time.Microsecond) // 0.8 ms in all
	writes := r.run(t, "m", n)
	r.mu.Lock()
	yields := r.yields
	r.mu.Unlock()
	if yields != 0 {
		t.Errorf("%d yields in a round of 0.8 ms", yields)
	}
	if len(writes) != n || writes[0] != "0 m" || writes[n-1] != fmt.Sprint(n-1, " m") {
		t.Fatalf("writes %d, first %q, last %q", len(writes), writes[0], writes[len(writes)-1])
	}
	// The flusher stopped; a new frame starts it again.
	r.mu.Lock()
	r.want, r.done = n+1, make(chan struct{})
	done := r.done
	r.mu.Unlock()
	r.clients[7].enqueue(0, []byte("again"))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a frame queued after the flusher stopped was not written")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if got := r.writes[n]; got != "7 again" {
		t.Errorf("write %q, want \"7 again\"", got)
	}
}
