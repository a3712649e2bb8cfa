package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// ErrWriterClosed is returned by Writer.Write after Close. It wraps
// ErrUnavailable: the message was not stored.
var ErrWriterClosed = fmt.Errorf("%w: writer closed", ErrUnavailable)

// WriterOptions tunes a Writer. Zero values take the defaults.
type WriterOptions struct {
	// MaxBatch is the most messages stored by one SaveMessages call
	// (default 256).
	MaxBatch int
	// QueueSize bounds the messages waiting to be stored (default 4096).
	// Write blocks, honouring its context, while the queue is full.
	QueueSize int
	// SaveTimeout bounds one SaveMessages call (default 10s), so a hung
	// database fails the batch instead of stalling every sender.
	SaveTimeout time.Duration
}

// Writer stores messages with group commit: the messages that arrive while
// the previous batch is being committed are stored together by the next
// SaveMessages call, so the cost of a commit (an fsync) is shared.
//
// Concurrency invariant: one goroutine (run) owns the store writes and the
// publish calls. Batches are committed one after another and published in
// commit order, so publish sees every room's messages in increasing id
// order. A Write returns only after its batch has been published.
type Writer struct {
	s       Store
	publish func([]Message)
	opts    WriterOptions

	queue chan *writeReq
	// stop is closed by Close; done is closed by run when it has finished.
	stop, done chan struct{}
	closeOnce  sync.Once
}

// writeReq is one message waiting for its batch.
type writeReq struct {
	ctx context.Context
	m   Message
	// res receives exactly one result; buffered so run never blocks on it.
	res chan writeRes
}

type writeRes struct {
	m   Message
	err error
}

// NewWriter starts a Writer that stores messages in s and hands every
// stored batch to publish (which may be nil). publish runs on the Writer's
// goroutine: it must not block for long and must not call Write.
func NewWriter(s Store, publish func([]Message), opts WriterOptions) *Writer {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4096
	}
	if opts.SaveTimeout <= 0 {
		opts.SaveTimeout = 10 * time.Second
	}
	if publish == nil {
		publish = func([]Message) {}
	}
	w := &Writer{
		s:       s,
		publish: publish,
		opts:    opts,
		queue:   make(chan *writeReq, opts.QueueSize),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go w.run()
	return w
}

// Write stores m and returns it as stored: ID set, and Sent set to the
// commit time (UTC, millisecond precision) when m.Sent is zero. It returns
// after the message has been published. On a store failure the error wraps
// ErrUnavailable; after Close it is ErrWriterClosed.
//
// ctx bounds the wait. A message abandoned through ctx before its batch
// starts is not stored; once its batch is being committed it may still be
// stored and published although Write reports ctx's error.
func (w *Writer) Write(ctx context.Context, m Message) (Message, error) {
	select {
	case <-w.stop:
		return Message{}, ErrWriterClosed
	default:
	}
	req := &writeReq{ctx: ctx, m: m, res: make(chan writeRes, 1)}
	select {
	case w.queue <- req:
	case <-w.stop:
		return Message{}, ErrWriterClosed
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
	select {
	case r := <-req.res:
		return r.m, r.err
	case <-ctx.Done():
		return Message{}, ctx.Err()
	case <-w.done:
		// run has exited. It answers every request it took before
		// closing done, so a missing answer means this one was queued
		// after the final drain and was never stored.
		select {
		case r := <-req.res:
			return r.m, r.err
		default:
			return Message{}, ErrWriterClosed
		}
	}
}

// Close stops accepting messages, stores and publishes those already
// queued, and waits for the Writer's goroutine to end. It is safe to call
// more than once and from several goroutines.
func (w *Writer) Close() {
	w.closeOnce.Do(func() { close(w.stop) })
	<-w.done
}

// run is the Writer's only goroutine: it takes whatever is queued (up to
// MaxBatch) as one batch, commits it, publishes it and answers its Writes,
// until Close; then it drains the queue the same way and exits.
func (w *Writer) run() {
	defer close(w.done)
	batch := make([]*writeReq, 0, w.opts.MaxBatch)
	for {
		select {
		case req := <-w.queue:
			batch = w.fill(append(batch[:0], req))
			w.commit(batch)
		case <-w.stop:
			for {
				batch = w.fill(batch[:0])
				if len(batch) == 0 {
					return
				}
				w.commit(batch)
			}
		}
	}
}

// fill adds queued requests to batch without waiting, up to MaxBatch.
func (w *Writer) fill(batch []*writeReq) []*writeReq {
	for len(batch) < w.opts.MaxBatch {
		select {
		case req := <-w.queue:
			batch = append(batch, req)
		default:
			return batch
		}
	}
	return batch
}

// commit stores the live requests of batch in one SaveMessages call, then
// publishes them and answers each request. Requests whose context is
// already done are answered with its error and left out.
func (w *Writer) commit(batch []*writeReq) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	live := batch[:0]
	for _, req := range batch {
		if err := req.ctx.Err(); err != nil {
			req.res <- writeRes{err: err}
			continue
		}
		if req.m.Sent.IsZero() {
			req.m.Sent = now
		}
		live = append(live, req)
	}
	if len(live) == 0 {
		return
	}
	msgs := make([]Message, len(live))
	for i, req := range live {
		msgs[i] = req.m
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.opts.SaveTimeout)
	err := w.s.SaveMessages(ctx, msgs)
	cancel()
	if err != nil {
		err = fmt.Errorf("%w: saving %d messages: %w", ErrUnavailable, len(msgs), err)
		for _, req := range live {
			req.res <- writeRes{err: err}
		}
		return
	}
	w.publish(msgs)
	for i, req := range live {
		req.res <- writeRes{m: msgs[i]}
	}
}
