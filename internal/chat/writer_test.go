package chat

import (
	"strings"
	"sync"
	"testing"
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
	var direct []string
	full := false
	c.SetDirect(func(p []byte) ([]byte, bool) {
		switch {
		case full:
			return nil, false
		case string(p) == "half":
			full = true
			direct = append(direct, "ha")
			return []byte("lf"), true
		}
		direct = append(direct, string(p))
		return nil, true
	})
	w := newRecordingWriter(c)
	c.enqueue(0, []byte("a"))
	c.enqueue(0, []byte("b"))
	if got, runs := w.seen(); len(got) != 0 || runs != 0 || strings.Join(direct, " ") != "a b" {
		t.Fatalf("direct %q, writer %q in %d runs", direct, got, runs)
	}
	// A frame written in part: the writer sends its rest before anything else.
	c.mu.Lock()
	c.push([]byte("half"))
	c.push([]byte("c"))
	c.mu.Unlock()
	<-w.ran
	if got, _ := w.seen(); strings.Join(got, " ") != "head:lf c" || strings.Join(direct, " ") != "a b ha" {
		t.Fatalf("direct %q, writer %q", direct, got)
	}
}
