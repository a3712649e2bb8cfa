package chat

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPauseAfter(t *testing.T) {
	for _, tc := range []struct{ round, want time.Duration }{
		{0, 0},
		{time.Millisecond, 0},
		{busyRound, 0},
		{busyRound + 2*time.Millisecond, (busyRound + 2*time.Millisecond) / 2},
		{2 * maxPause, maxPause},
		{time.Second, maxPause},
	} {
		if got := pauseAfter(tc.round); got != tc.want {
			t.Errorf("pauseAfter(%v) = %v, want %v", tc.round, got, tc.want)
		}
	}
}

// TestFlusherPausesAfterALongRound: after a round of writes that took
// longer than busyRound (on a clock the test moves), the flusher asks for a
// pause and stops; frames queued meanwhile wait on its list, and when the
// pause ends they go out together in one write.
func TestFlusherPausesAfterALongRound(t *testing.T) {
	var mu sync.Mutex
	clock := time.Unix(0, 0)
	pauses := make(chan time.Duration, 1)
	var resume func()
	fl := &flusher{
		now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock },
		after: func(d time.Duration, f func()) {
			mu.Lock()
			resume = f
			mu.Unlock()
			pauses <- d
		},
	}
	c := benchClient()
	writes := make(chan string, 4)
	c.mu.Lock()
	c.fl = fl
	c.direct = func(frames [][]byte) ([]byte, bool) {
		var names []string
		for _, f := range frames {
			names = append(names, string(f))
		}
		if names[0] == "slow" { // this write takes 12 ms
			mu.Lock()
			clock = clock.Add(12 * time.Millisecond)
			mu.Unlock()
		}
		writes <- strings.Join(names, " ")
		return nil, true
	}
	c.mu.Unlock()

	c.enqueue(0, []byte("slow"))
	if got := <-writes; got != "slow" {
		t.Fatalf("first write %q", got)
	}
	if d := <-pauses; d != 6*time.Millisecond {
		t.Fatalf("pause %v after a 12 ms round, want 6ms", d)
	}
	c.enqueue(0, []byte("b"))
	c.enqueue(0, []byte("c"))
	fl.mu.Lock()
	running, listed := fl.running, len(fl.list)
	fl.mu.Unlock()
	if !running || listed != 1 {
		t.Fatalf("during the pause: running %v, %d clients listed; want the client waiting on a paused flusher", running, listed)
	}
	mu.Lock()
	f := resume
	mu.Unlock()
	go f() // the pause is over
	if got := <-writes; got != "b c" {
		t.Fatalf("write after the pause %q, want the frames queued meanwhile together", got)
	}
	// That round was quick: no pause, and the flusher stops when its list
	// is empty, so the next frame starts it again.
	c.enqueue(0, []byte("d"))
	if got := <-writes; got != "d" {
		t.Fatalf("write after a quick round %q", got)
	}
	select {
	case d := <-pauses:
		t.Fatalf("paused %v after quick rounds", d)
	default:
	}
}
