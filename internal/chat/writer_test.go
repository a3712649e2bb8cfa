package chat

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingWriter is a transport writer that records what Next hands it;
// each run signals ran when it ends.
type recordingWriter struct {
	c    *Client
	mu   sync.Mutex
	got  []string
	runs int
	ran  chan struct{}
}

func newRecordingWriter(c *Client) *recordingWriter {
	w := &recordingWriter{c: c, ran: make(chan struct{}, 16)}
	c.StartWriter(w.run)
	return w
}

func (w *recordingWriter) run() {
	var b Batch
	for w.c.Next(&b) {
		w.mu.Lock()
		if len(b.Head) > 0 {
			w.got = append(w.got, "head:"+string(b.Head))
		}
		for _, f := range b.Frames {
			w.got = append(w.got, string(f))
		}
		if b.Ping {
			w.got = append(w.got, "ping")
		}
		if b.Close {
			w.got = append(w.got, "close")
		}
		w.mu.Unlock()
		clear(b.Frames)
	}
	w.mu.Lock()
	w.runs++
	w.mu.Unlock()
	w.ran <- struct{}{}
}

func (w *recordingWriter) seen() ([]string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.got...), w.runs
}

// setDirect installs a direct function as ConnectDirect does.
func setDirect(c *Client, f func(frames [][]byte) ([]byte, bool)) {
	c.mu.Lock()
	c.direct, c.fl = f, c.hub.flusherFor()
	c.mu.Unlock()
}

func TestWriterRunsOnlyWhileThereIsWork(t *testing.T) {
	c := benchClient()
	c.enqueue(0, []byte("a")) // queued before the writer exists
	w := newRecordingWriter(c)
	<-w.ran
	if got, runs := w.seen(); len(got) != 1 || got[0] != "a" || runs != 1 {
		t.Fatalf("first run: %q, %d runs", got, runs)
	}
	c.enqueue(0, []byte("b"))
	<-w.ran
	if !c.Ping() {
		t.Fatal("Ping refused on an open client")
	}
	// Ping ran the writer in this goroutine.
	<-w.ran
	if got, runs := w.seen(); len(got) != 3 || got[1] != "b" || got[2] != "ping" || runs != 3 {
		t.Fatalf("after b and a ping: %q, %d runs", got, runs)
	}
	c.Close(CloseGoingAway, "bye", false)
	<-w.ran
	c.WaitWriter()
	if got, _ := w.seen(); got[len(got)-1] != "close" {
		t.Fatalf("no close: %q", got)
	}
	if c.Ping() {
		t.Fatal("Ping accepted after Close")
	}
	c.enqueue(0, []byte("late"))
	if got, runs := w.seen(); len(got) != 4 || runs != 4 {
		t.Fatalf("a writer ran after the close: %q, %d runs", got, runs)
	}
}

func TestWriterFlushesBeforeCloseUnlessDropped(t *testing.T) {
	for _, drop := range []bool{false, true} {
		c := benchClient()
		c.enqueue(0, []byte("x"))
		c.Close(CloseTryAgainLater, "full", drop)
		w := newRecordingWriter(c)
		<-w.ran
		c.WaitWriter()
		got, _ := w.seen()
		want := "x close"
		if drop {
			want = "close"
		}
		if s := strings.Join(got, " "); s != want {
			t.Errorf("drop %v: %q, want %q", drop, s, want)
		}
	}
}

func TestWaitWriterWithoutWriter(t *testing.T) {
	c := benchClient()
	c.Close(0, "", true)
	c.WaitWriter() // returns: no writer was ever installed
}

func TestDirectWritesSkipTheWriterUntilTheSocketIsFull(t *testing.T) {
	c := benchClient()
	calls := make(chan string, 16) // each direct write: its frames, space-separated
	full := false
	setDirect(c, func(frames [][]byte) ([]byte, bool) {
		var names []string
		for _, f := range frames {
			names = append(names, string(f))
		}
		if full {
			calls <- "refused: " + strings.Join(names, " ")
			return nil, false
		}
		if names[len(names)-1] == "half" {
			full = true
			calls <- strings.Join(names, " ")
			return []byte("lf"), true
		}
		calls <- strings.Join(names, " ")
		return nil, true
	})
	w := newRecordingWriter(c)

	c.enqueue(0, []byte("a"))
	if got := <-calls; got != "a" {
		t.Fatalf("first direct write %q, want a", got)
	}
	// Frames queued before the flusher gets to the client share one write.
	c.mu.Lock()
	c.push([]byte("b"))
	c.push([]byte("c"))
	c.mu.Unlock()
	if got := <-calls; got != "b c" {
		t.Fatalf("second direct write %q, want \"b c\"", got)
	}
	if got, runs := w.seen(); len(got) != 0 || runs != 0 {
		t.Fatalf("the writer ran: %q in %d runs", got, runs)
	}

	// A write that took only part: the writer sends the rest before
	// anything queued after it, and the flusher keeps out of its way.
	c.mu.Lock()
	c.push([]byte("d"))
	c.push([]byte("half"))
	c.mu.Unlock()
	if got := <-calls; got != "d half" {
		t.Fatalf("third direct write %q", got)
	}
	<-w.ran
	c.enqueue(0, []byte("e")) // the socket is "full" now: refused, so the writer sends it
	if got := <-calls; got != "refused: e" {
		t.Fatalf("fourth direct write %q", got)
	}
	<-w.ran
	if got, _ := w.seen(); strings.Join(got, " ") != "head:lf e" {
		t.Fatalf("writer sent %q, want the rest of half, then e", got)
	}
	c.Close(CloseGoingAway, "bye", false)
	<-w.ran
	c.WaitWriter()
	c.enqueue(0, []byte("late"))
	c.mu.Lock()
	queued, listed := len(c.queue), c.dirty
	c.mu.Unlock()
	if queued != 0 || listed {
		t.Fatalf("after the close: %d frames queued, on the flusher's list %v", queued, listed)
	}
}

// A frame the flusher wrote in part before the transport installed its
// writer: StartWriter must send the rest at once, not at the next event.
func TestStartWriterSendsTheRestOfAFrameWrittenInPart(t *testing.T) {
	c := benchClient()
	wrote := make(chan struct{})
	setDirect(c, func([][]byte) ([]byte, bool) {
		close(wrote)
		return []byte("rest"), true
	})
	c.enqueue(0, []byte("room_joined"))
	<-wrote
	// The flusher holds the lock while it writes, and sets head before it
	// lets go.
	c.mu.Lock()
	rest := string(c.head)
	c.mu.Unlock()
	if rest != "rest" {
		t.Fatalf("head %q after the partial write", rest)
	}
	w := newRecordingWriter(c)
	select {
	case <-w.ran:
	case <-time.After(10 * time.Second):
		t.Fatal("no writer ran for the rest of the frame")
	}
	if got, _ := w.seen(); strings.Join(got, " ") != "head:rest" {
		t.Fatalf("writer sent %q", got)
	}
}
