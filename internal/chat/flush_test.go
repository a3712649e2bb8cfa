package chat

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// flushRig is a flusher on a clock the test moves, with clients whose
// direct writes are recorded and advance the clock by perWrite.
type flushRig struct {
	fl       *flusher
	clients  []*Client
	framesIn atomic.Uint64 // the hub's count of frames read

	mu       sync.Mutex
	clock    time.Time
	perWrite time.Duration
	writes   []string // "<client> <frames…>", in write order
	yields   []int    // how many writes there were at each yield
	yieldFor time.Duration
	onYield  func(n int) // the yield's work, on the flusher's goroutine
	written  chan struct{}
}

func newFlushRig(n int, perWrite time.Duration) *flushRig {
	r := &flushRig{perWrite: perWrite, clock: time.Unix(0, 0), written: make(chan struct{}, 1)}
	r.fl = &flusher{
		framesIn: &r.framesIn,
		now:      func() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.clock },
		yield: func() {
			r.mu.Lock()
			r.yields = append(r.yields, len(r.writes))
			r.clock = r.clock.Add(r.yieldFor)
			k, f := len(r.yields), r.onYield
			r.mu.Unlock()
			if f != nil {
				f(k)
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
			r.mu.Unlock()
			select {
			case r.written <- struct{}{}:
			default:
			}
			return nil, true
		}
		r.clients = append(r.clients, c)
	}
	return r
}

// deliver queues frame for every client, in order, with the flusher held
// off until all are queued (as when one goroutine delivers a batch), then
// runs the flusher on the test's goroutine until its list is empty, and
// returns the writes so far and the number of writes before each yield.
func (r *flushRig) deliver(frame string) (writes []string, yields []int) {
	r.fl.mu.Lock()
	r.fl.running = true // the deliverer holds the processor until it is done
	r.fl.mu.Unlock()
	for _, c := range r.clients {
		c.enqueue(0, []byte(frame))
	}
	r.fl.run()
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.writes), slices.Clone(r.yields)
}

// read stands for a client's frame being read, as Client.Handle counts it.
func (r *flushRig) read() { r.framesIn.Add(1) }

// TestFlusherYieldsDuringALongRound: a round that has been writing for
// yieldEvery yields, and the frames queued during a yield go out with the
// round: in the same write as the earlier frames of a connection the round
// has not reached yet, and in a round of their own for one it has passed.
func TestFlusherYieldsDuringALongRound(t *testing.T) {
	const n = 56
	// 100 µs a write: the round reaches 1 ms after 10 writes and yields at
	// the first check after that, after the 16th; then after the 32nd and
	// the 48th.
	r := newFlushRig(n, 100*time.Microsecond)
	r.onYield = func(k int) {
		if k == 1 { // a message read during the first yield, for clients 3 and 30
			r.read()
			r.clients[3].enqueue(0, []byte("late"))
			r.clients[30].enqueue(0, []byte("late"))
		}
	}
	writes, yields := r.deliver("m")

	if want := []int{16, 32, 48}; !slices.Equal(yields, want) {
		t.Errorf("yielded after writes %v, want %v", yields, want)
	}
	if len(writes) != n+1 {
		t.Fatalf("%d writes, want %d: %q", len(writes), n+1, writes)
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

// TestFlusherYieldsOncePerInterval: the interval starts again at each
// yield, so 64 writes of 50 µs (3.2 ms) yield twice, after the 32nd and
// the 64th.
func TestFlusherYieldsOncePerInterval(t *testing.T) {
	r := newFlushRig(64, 50*time.Microsecond)
	if _, yields := r.deliver("m"); !slices.Equal(yields, []int{32, 64}) {
		t.Errorf("yielded after writes %v, want [32 64]", yields)
	}
}

// TestFlusherIdleYieldsSpreadOut: while yields idle (1 ms each, nothing
// read) the interval doubles, up to maxYieldEvery; a yield during which a
// frame is read sets it back to yieldEvery. The writes take 100 µs, so
// the checks come every 1.6 ms of writing.
func TestFlusherIdleYieldsSpreadOut(t *testing.T) {
	r := newFlushRig(320, 100*time.Microsecond)
	r.yieldFor = time.Millisecond
	// Intervals 1, 2, 4, 8 then 16 ms.
	if _, yields := r.deliver("m"); !slices.Equal(yields, []int{16, 48, 96, 176}) {
		t.Errorf("idle: yielded after writes %v, want [16 48 96 176]", yields)
	}

	r = newFlushRig(320, 100*time.Microsecond)
	r.yieldFor = time.Millisecond
	r.onYield = func(k int) {
		if k == 2 {
			r.read()
		}
	}
	// Intervals 1, 2, then 1 again, 2, 4, 8, 16 ms.
	if _, yields := r.deliver("m"); !slices.Equal(yields, []int{16, 48, 64, 96, 144, 224}) {
		t.Errorf("a frame read in the second yield: yielded after writes %v, want [16 48 64 96 144 224]", yields)
	}
}

func TestNextYieldEvery(t *testing.T) {
	for _, tc := range []struct {
		every, took time.Duration
		read        bool
		want        time.Duration
	}{
		{yieldEvery, 50 * time.Microsecond, false, yieldEvery}, // a quick yield
		{4 * yieldEvery, 50 * time.Microsecond, false, yieldEvery},
		{yieldEvery, time.Millisecond, false, 2 * yieldEvery}, // it idled
		{maxYieldEvery, time.Millisecond, false, maxYieldEvery},
		{8 * yieldEvery, 3 * time.Millisecond, true, yieldEvery}, // frames came in
	} {
		if got := nextYieldEvery(tc.every, tc.took, tc.read); got != tc.want {
			t.Errorf("nextYieldEvery(%v, %v, %v) = %v, want %v", tc.every, tc.took, tc.read, got, tc.want)
		}
	}
}

// TestFlusherQuickRoundDoesNotYield: a round shorter than yieldEvery
// writes everything without yielding, and the flusher stops when its list
// is empty, so the next frame starts it again.
func TestFlusherQuickRoundDoesNotYield(t *testing.T) {
	const n = 200
	r := newFlushRig(n, 4*time.Microsecond) // 0.8 ms in all
	writes, yields := r.deliver("m")
	if len(yields) != 0 {
		t.Errorf("%d yields in a round of 0.8 ms", len(yields))
	}
	if len(writes) != n || writes[0] != "0 m" || writes[n-1] != fmt.Sprint(n-1, " m") {
		t.Fatalf("writes %d, first %q, last %q", len(writes), writes[0], writes[len(writes)-1])
	}
	// The flusher stopped; a new frame starts it again.
	select {
	case <-r.written: // drop the signal of the round above
	default:
	}
	r.clients[7].enqueue(0, []byte("again"))
	select {
	case <-r.written:
	case <-time.After(10 * time.Second):
		t.Fatal("a frame queued after the flusher stopped was not written")
	}
	r.mu.Lock()
	got := r.writes[len(r.writes)-1]
	r.mu.Unlock()
	if got != "7 again" {
		t.Errorf("write %q, want \"7 again\"", got)
	}
}
