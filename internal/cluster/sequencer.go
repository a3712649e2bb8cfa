package cluster

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/internal/broker"
)

// sequencer puts one room's messages in id order for this node, each once.
//
// last is the newest id delivered (or known to be in the history every
// member read when joining). A message with an id at or below last is a
// repeat and dropped; one whose Prev is at or below last is next and
// delivered; any other waits in held, keyed by its Prev, until the message
// it follows is delivered, or GapWait passes and the gap is read from the
// database.
type sequencer struct {
	b    *Broker
	room string

	// seeded is closed once last is known; live once Redis has confirmed
	// the subscription (the first time).
	seeded, live chan struct{}
	liveOnce     sync.Once

	mu       sync.Mutex
	last     int64
	isSeeded bool
	early    []broker.Event // received before seeding
	held     map[int64]broker.Event
	timer    *time.Timer
	needFill bool // a confirmation came before the seed finished

	// stopped is set when the room has no members here any more. It is
	// not under mu: the handler, called under mu, may evict the last
	// member and so unsubscribe.
	stopped atomic.Bool
}

// maxHeld bounds the messages held for one room before a gap fill is
// forced.
const maxHeld = 1024

func newSequencer(b *Broker, room string) *sequencer {
	return &sequencer{
		b:      b,
		room:   room,
		seeded: make(chan struct{}),
		live:   make(chan struct{}),
		held:   make(map[int64]broker.Event),
	}
}

// seed learns the room's newest stored message: every member that joins
// from now on reads its history after this point.
func (s *sequencer) seed() {
	ctx, cancel := context.WithTimeout(s.b.ctx, 5*time.Second)
	newest, err := s.b.src.Newest(ctx, s.room)
	cancel()
	if err != nil && s.b.ctx.Err() == nil {
		s.b.c.log.Error("reading a room's newest message failed", "room", s.room, "err", err)
	}
	s.mu.Lock()
	s.last = newest
	s.isSeeded = true
	early := s.early
	s.early = nil
	slices.SortFunc(early, func(a, b broker.Event) int { return cmpID(a.ID, b.ID) })
	for _, e := range early {
		s.offerLocked(e)
	}
	fill := s.needFill
	s.mu.Unlock()
	close(s.seeded)
	if fill {
		s.fill()
	}
}

// confirmed is called for every confirmed (re)subscription: messages
// published while this node was not subscribed are read from the database.
//
// The first time too: the seed may have been read before Redis confirmed,
// and what was stored in between was published before we listened.
func (s *sequencer) confirmed() {
	s.liveOnce.Do(func() { close(s.live) })
	s.mu.Lock()
	if !s.isSeeded {
		s.needFill = true // seed fills when it is done
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.b.fills.Add(1)
	go func() { defer s.b.fills.Done(); s.fill() }()
}

// offer takes one message event, from this node or from Redis.
func (s *sequencer) offer(e broker.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.isSeeded {
		s.early = append(s.early, e)
		return
	}
	s.offerLocked(e)
}

func (s *sequencer) offerLocked(e broker.Event) {
	if s.stopped.Load() || e.ID <= s.last {
		return
	}
	if e.Prev > s.last {
		s.held[e.Prev] = e
		if len(s.held) > maxHeld {
			s.startFillLocked(0)
		} else {
			s.startFillLocked(GapWait)
		}
		return
	}
	s.deliverLocked(e)
	s.releaseLocked()
}

// deliverLocked hands e to the hub and advances last.
func (s *sequencer) deliverLocked(e broker.Event) {
	s.last = e.ID
	s.b.handler(s.room, e)
}

// releaseLocked delivers the held messages that now follow last.
func (s *sequencer) releaseLocked() {
	for len(s.held) > 0 {
		next, ok := s.held[s.last]
		if !ok {
			break
		}
		delete(s.held, s.last)
		s.deliverLocked(next)
	}
	for prev, e := range s.held { // repeats of what was delivered meanwhile
		if e.ID <= s.last {
			delete(s.held, prev)
		}
	}
	if len(s.held) == 0 {
		s.stopTimerLocked()
	}
}

// stopTimerLocked cancels a pending gap fill.
func (s *sequencer) stopTimerLocked() {
	if s.timer != nil && s.timer.Stop() {
		s.b.fills.Done() // its fill will not run
	}
	s.timer = nil
}

// startFillLocked arranges a gap fill after wait, unless one is pending.
func (s *sequencer) startFillLocked(wait time.Duration) {
	if s.timer != nil && wait > 0 {
		return
	}
	s.stopTimerLocked()
	s.b.fills.Add(1)
	s.timer = time.AfterFunc(wait, func() { defer s.b.fills.Done(); s.fill() })
}

// fill reads what follows last from the database and delivers it. What is
// still held then arrived after the read began and gets a fill of its own;
// when the database cannot be read, the held messages are delivered as
// they are, in id order.
func (s *sequencer) fill() {
	if s.stopped.Load() {
		return
	}
	s.mu.Lock()
	after := s.last
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(s.b.ctx, 5*time.Second)
	events, err := s.b.src.After(ctx, s.room, after, fillLimit)
	cancel()
	if err != nil && s.b.ctx.Err() == nil {
		s.b.c.log.Error("reading missed messages failed", "room", s.room, "err", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer = nil // a pending one still runs, and finds nothing to do
	if s.stopped.Load() {
		return
	}
	for _, e := range events {
		if e.ID > s.last {
			s.deliverLocked(e)
		}
	}
	s.releaseLocked()
	if len(s.held) > 0 && err == nil {
		// Held after our read began: a message is stored before it is
		// published, so another read finds what these follow.
		s.startFillLocked(GapWait)
		return
	}
	if len(s.held) > 0 {
		// The database could not be read: deliver in id order rather than
		// hold on.
		rest := make([]broker.Event, 0, len(s.held))
		for _, e := range s.held {
			rest = append(rest, e)
		}
		clear(s.held)
		slices.SortFunc(rest, func(a, b broker.Event) int { return cmpID(a.ID, b.ID) })
		for _, e := range rest {
			if e.ID > s.last {
				s.deliverLocked(e)
			}
		}
	}
}

// stop ends the sequencer when the room has no members here any more.
// A pending gap fill still runs, and does nothing.
func (s *sequencer) stop() { s.stopped.Store(true) }

func cmpID(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
