package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/store"
)

// recorder is a publish function that remembers every message it saw.
type recorder struct {
	mu      sync.Mutex
	batches [][]store.Message
	ids     map[int64]bool
}

func (r *recorder) publish(batch []store.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = map[int64]bool{}
	}
	r.batches = append(r.batches, batch)
	for _, m := range batch {
		r.ids[m.ID] = true
	}
}

func (r *recorder) published(id int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[id]
}

func (r *recorder) all() []store.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []store.Message
	for _, b := range r.batches {
		out = append(out, b...)
	}
	return out
}

// newWriter starts a Writer closed at the end of the test.
func newWriter(t *testing.T, s store.Store, rec *recorder, opts store.WriterOptions) *store.Writer {
	t.Helper()
	w := store.NewWriter(s, rec.publish, opts)
	t.Cleanup(w.Close)
	return w
}

func TestWriterOrderAndPublish(t *testing.T) {
	s := openSQLite(t)
	rec := &recorder{}
	w := newWriter(t, s, rec, store.WriterOptions{})
	const writers, each = 16, 25
	given := time.Date(2024, 5, 6, 7, 8, 9, 10_000_000, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				m := store.Message{Room: fmt.Sprintf("room%d", g%3), From: "alice", Text: fmt.Sprintf("%d/%d", g, i)}
				if i == 0 {
					m.Sent = given
				}
				before := time.Now().UTC().Truncate(time.Millisecond)
				got, err := w.Write(context.Background(), m)
				if err != nil {
					errs <- err
					return
				}
				after := time.Now().UTC()
				switch {
				case got.ID <= 0:
					errs <- fmt.Errorf("Write returned id %d", got.ID)
				case !rec.published(got.ID):
					errs <- fmt.Errorf("Write of %d returned before its publish", got.ID)
				case got.Room != m.Room || got.Text != m.Text || got.From != m.From:
					errs <- fmt.Errorf("Write returned %+v for %+v", got, m)
				case i == 0 && got.Sent != given:
					errs <- fmt.Errorf("caller's Sent %v replaced by %v", given, got.Sent)
				case i > 0 && (got.Sent.Before(before) || got.Sent.After(after) || got.Sent.Location() != time.UTC || got.Sent.Nanosecond()%int(time.Millisecond) != 0):
					errs <- fmt.Errorf("Sent %v not a UTC millisecond between %v and %v", got.Sent, before, after)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	w.Close()

	all := rec.all()
	if len(all) != writers*each {
		t.Fatalf("published %d messages, want %d", len(all), writers*each)
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID {
			t.Fatalf("published out of id order: %d after %d", all[i].ID, all[i-1].ID)
		}
	}
	// What was published is what was stored.
	for _, room := range []string{"room0", "room1", "room2"} {
		stored, err := s.History(context.Background(), room, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var want []store.Message
		for _, m := range all {
			if m.Room == room {
				want = append(want, m)
			}
		}
		if len(stored) != len(want) {
			t.Fatalf("room %s: stored %d, published %d", room, len(stored), len(want))
		}
		for i := range want {
			var prev int64
			if i > 0 {
				prev = want[i-1].ID
			}
			if want[i].Prev != prev {
				t.Fatalf("room %s: published %d with Prev %d, want %d", room, want[i].ID, want[i].Prev, prev)
			}
			published := want[i]
			published.Prev = 0 // History does not report it
			if stored[i] != published {
				t.Fatalf("room %s: stored %+v, published %+v", room, stored[i], published)
			}
		}
	}
}

func TestWriterBatches(t *testing.T) {
	tests := []struct {
		maxBatch, queued int
		want             []int
	}{
		{256, 50, []int{1, 50}},
		{16, 50, []int{1, 16, 16, 16, 2}},
		{1, 3, []int{1, 1, 1, 1}},
		{0, 300, []int{1, 256, 44}}, // default MaxBatch
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("max%d/queued%d", tc.maxBatch, tc.queued), func(t *testing.T) {
			spy := newSpy(t, true)
			rec := &recorder{}
			w := newWriter(t, spy, rec, store.WriterOptions{MaxBatch: tc.maxBatch})
			results := make(chan error, tc.queued+1)
			write := func(text string) {
				_, err := w.Write(context.Background(), store.Message{Room: "r", From: "alice", Text: text})
				results <- err
			}
			// The first message is taken alone and held inside
			// SaveMessages; the others arrive meanwhile.
			go write("first")
			<-spy.entered
			for i := 0; i < tc.queued; i++ {
				go write(fmt.Sprint(i))
			}
			waitQueued(t, w, tc.queued)
			spy.release()
			for i := 0; i < tc.queued+1; i++ {
				if err := <-results; err != nil {
					t.Fatalf("Write: %v", err)
				}
			}
			got := spy.batchSizes()
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("SaveMessages batch sizes = %v, want %v", got, tc.want)
			}
			if len(rec.batches) != len(tc.want) {
				t.Fatalf("publish called %d times, want %d", len(rec.batches), len(tc.want))
			}
		})
	}
}

func TestWriterFailure(t *testing.T) {
	tests := []struct {
		name  string
		store func(t *testing.T) (store.Store, func())
		// recovers: after the failure the Writer stores again.
		recovers bool
	}{
		{"store returns an error", func(t *testing.T) (store.Store, func()) {
			spy := newSpy(t, false)
			spy.setFail(true)
			return spy, func() { spy.setFail(false) }
		}, true},
		{"closed database", func(t *testing.T) (store.Store, func()) {
			s := openSQLite(t)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return s, nil
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, heal := tc.store(t)
			rec := &recorder{}
			w := newWriter(t, s, rec, store.WriterOptions{})
			_, err := w.Write(context.Background(), store.Message{Room: "r", From: "alice", Text: "x"})
			if !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("Write on a failing store = %v, want ErrUnavailable", err)
			}
			if len(rec.all()) != 0 {
				t.Fatal("a failed batch was published")
			}
			if !tc.recovers {
				return
			}
			heal()
			m, err := w.Write(context.Background(), store.Message{Room: "r", From: "alice", Text: "y"})
			if err != nil || !rec.published(m.ID) {
				t.Fatalf("Write after recovery = %+v, %v", m, err)
			}
		})
	}
}

func TestWriterCloseDrains(t *testing.T) {
	spy := newSpy(t, true)
	rec := &recorder{}
	w := store.NewWriter(spy, rec.publish, store.WriterOptions{MaxBatch: 4})
	const queued = 10
	results := make(chan error, queued+1)
	write := func() {
		_, err := w.Write(context.Background(), store.Message{Room: "r", From: "alice", Text: "x"})
		results <- err
	}
	go write()
	<-spy.entered
	for i := 0; i < queued; i++ {
		go write()
	}
	waitQueued(t, w, queued)
	closed := make(chan struct{})
	go func() {
		w.Close()
		close(closed)
	}()
	<-store.Stopping(w)
	// Close has begun: new messages are refused at once.
	if _, err := w.Write(context.Background(), store.Message{Room: "r", From: "alice", Text: "late"}); !errors.Is(err, store.ErrWriterClosed) {
		t.Fatalf("Write during Close = %v, want ErrWriterClosed", err)
	}
	spy.release()
	<-closed
	for i := 0; i < queued+1; i++ {
		if err := <-results; err != nil {
			t.Fatalf("queued Write: %v", err)
		}
	}
	stored, err := spy.History(context.Background(), "r", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != queued+1 || len(rec.all()) != queued+1 {
		t.Fatalf("stored %d and published %d messages, want %d", len(stored), len(rec.all()), queued+1)
	}
	if _, err := w.Write(context.Background(), store.Message{Room: "r", From: "alice", Text: "after"}); !errors.Is(err, store.ErrWriterClosed) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Write after Close = %v, want ErrWriterClosed wrapping ErrUnavailable", err)
	}
	w.Close() // a second Close returns at once
}

func TestWriterContext(t *testing.T) {
	spy := newSpy(t, true)
	rec := &recorder{}
	w := newWriter(t, spy, rec, store.WriterOptions{QueueSize: 1})
	results := make(chan error, 2)
	write := func(text string) {
		_, err := w.Write(context.Background(), store.Message{Room: "r", From: "alice", Text: text})
		results <- err
	}
	go write("held")
	<-spy.entered
	go write("queued")
	waitQueued(t, w, 1)

	// The queue is full: a Write whose context ends gives up.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Write(ctx, store.Message{Room: "r", From: "alice", Text: "abandoned"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a cancelled context = %v, want context.Canceled", err)
	}
	spy.release()
	for i := 0; i < 2; i++ {
		if err := <-results; err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	stored, err := spy.History(context.Background(), "r", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 2 || stored[0].Text != "held" || stored[1].Text != "queued" {
		t.Fatalf("stored %+v, want held then queued", stored)
	}
}
