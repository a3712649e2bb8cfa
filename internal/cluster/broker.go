package cluster

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/broker"
)

// Broker is the Redis broker: each room is a pub/sub channel that a node
// subscribes to while the room has members on it, so no node receives the
// traffic of rooms it has no one in.
//
// A node's own events are delivered to its members at once and published
// for the others; every node puts a room's messages back in id order with
// the Prev each carries (a message whose Prev it has not delivered yet is
// held), and fetches from the database what it did not receive: a held
// message waits at most GapWait for the ones before it, and after a
// reconnect to Redis every room is caught up from the database.
//
// Concurrency: one goroutine receives from Redis, one sends the
// subscription changes, one publishes (in the order Publish was called).
// Each room's sequencer has its own lock, under which the handler is
// called: deliveries of one room never overlap or reorder.
type Broker struct {
	c       *Cluster
	handler broker.Handler
	src     broker.Source
	ps      *redis.PubSub

	mu    sync.Mutex
	rooms map[string]*sequencer
	subs  []subOp // pending subscription changes, in order
	subCh chan struct{}

	pubq chan pubReq

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	fills  sync.WaitGroup
}

// GapWait is how long a message that arrived before one it follows is held
// before the missing ones are read from the database.
const GapWait = 200 * time.Millisecond

// readyWait bounds Ready: a room whose subscription Redis has not
// confirmed by then is served from this node alone until it does.
const readyWait = 2 * time.Second

// fillLimit is the most messages one gap fill reads.
const fillLimit = 500

type subOp struct {
	channel string
	sub     bool
}

type pubReq struct {
	channel string
	data    []byte
	flushed chan struct{} // a marker, not an event: closed once all before it are sent
}

var _ broker.Broker = (*Broker)(nil)

// NewBroker returns the cluster's broker; it fits chat.Config.NewBroker.
func (c *Cluster) NewBroker(h broker.Handler, src broker.Source) (broker.Broker, error) {
	ctx, cancel := context.WithCancel(context.Background())
	b := &Broker{
		c:       c,
		handler: h,
		src:     src,
		rooms:   make(map[string]*sequencer),
		subCh:   make(chan struct{}, 1),
		pubq:    make(chan pubReq, 8192),
		ctx:     ctx,
		cancel:  cancel,
	}
	b.ps = c.rdb.Subscribe(ctx, c.ctlChannel())
	b.wg.Add(3)
	go b.receive()
	go b.subscriber()
	go b.publisher()
	return b, nil
}

func (b *Broker) channel(room string) string { return b.c.key("room", room) }

// Publish delivers e to this node's members of room now and queues it for
// the other nodes. It never blocks; when the queue to Redis is full the
// event is dropped for the others (they read messages back from the
// database) and an error says so.
func (b *Broker) Publish(_ context.Context, room string, e broker.Event) error {
	b.mu.Lock()
	s := b.rooms[room]
	b.mu.Unlock()
	if s != nil {
		if e.ID != 0 {
			s.offer(e)
		} else {
			b.handler(room, e)
		}
	}
	select {
	case b.pubq <- pubReq{channel: b.channel(room), data: encodeEvent(b.c.node, e)}:
		return nil
	default:
		return errors.New("cluster: publish queue full; event not sent to other nodes")
	}
}

// Subscribe starts receiving room's events. The subscription is made in
// the background; Ready waits for it.
func (b *Broker) Subscribe(room string) error {
	b.mu.Lock()
	if b.rooms[room] == nil {
		s := newSequencer(b, room)
		b.rooms[room] = s
		b.subs = append(b.subs, subOp{b.channel(room), true})
		b.fills.Add(1)
		go func() { defer b.fills.Done(); s.seed() }()
	}
	b.mu.Unlock()
	b.kickSubscriber()
	return nil
}

// Unsubscribe stops receiving room's events.
func (b *Broker) Unsubscribe(room string) error {
	b.mu.Lock()
	if s := b.rooms[room]; s != nil {
		delete(b.rooms, room)
		s.stop()
		b.subs = append(b.subs, subOp{b.channel(room), false})
	}
	b.mu.Unlock()
	b.kickSubscriber()
	return nil
}

// Ready waits until room's sequencer knows where the room stands, and
// then until Redis has confirmed the subscription or readyWait passes
// (Redis down: the node then serves the room alone and catches up from the
// database when Redis confirms).
func (b *Broker) Ready(ctx context.Context, room string) error {
	b.mu.Lock()
	s := b.rooms[room]
	b.mu.Unlock()
	if s == nil {
		return nil // left again already
	}
	// The seed must be in place first, whatever it takes (it is one read
	// of the database, bounded by its own timeout): a member's history read
	// before it could miss messages the seed then counts as delivered.
	select {
	case <-s.seeded:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.ctx.Done():
		return nil
	}
	t := time.NewTimer(readyWait)
	defer t.Stop()
	select {
	case <-s.live:
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.ctx.Done():
	}
	return nil
}

// Close sends what is still queued for the other nodes (for at most two
// seconds), then stops the broker's goroutines and its subscriptions.
func (b *Broker) Close() error {
	marker := pubReq{flushed: make(chan struct{})}
	wait := time.NewTimer(2 * time.Second)
	select {
	case b.pubq <- marker:
		select {
		case <-marker.flushed:
		case <-wait.C:
		}
	case <-wait.C:
	}
	wait.Stop()
	b.cancel()
	err := b.ps.Close()
	b.wg.Wait()
	b.mu.Lock()
	for _, s := range b.rooms {
		s.stop()
	}
	b.mu.Unlock()
	b.fills.Wait()
	return err
}

func (b *Broker) kickSubscriber() {
	select {
	case b.subCh <- struct{}{}:
	default:
	}
}

// subscriber sends subscription changes to Redis in the order they were
// made. A change Redis could not take is kept by the client and replayed
// when it reconnects.
func (b *Broker) subscriber() {
	defer b.wg.Done()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-b.subCh:
		}
		b.mu.Lock()
		ops := b.subs
		b.subs = nil
		b.mu.Unlock()
		for _, op := range ops {
			var err error
			if op.sub {
				err = b.ps.Subscribe(b.ctx, op.channel)
			} else {
				err = b.ps.Unsubscribe(b.ctx, op.channel)
			}
			if err != nil && b.ctx.Err() == nil {
				b.c.log.Warn("redis subscription change failed; kept for the reconnect", "err", err)
			}
		}
	}
}

// publisher sends queued events to Redis, many per round trip, in order.
func (b *Broker) publisher() {
	defer b.wg.Done()
	batch := make([]pubReq, 0, 128)
	var failing bool
	for {
		select {
		case <-b.ctx.Done():
			return
		case r := <-b.pubq:
			batch = append(batch[:0], r)
		}
	more:
		for len(batch) < cap(batch) {
			select {
			case r := <-b.pubq:
				batch = append(batch, r)
			default:
				break more
			}
		}
		err := b.send(batch)
		if err != nil && !failing && b.ctx.Err() == nil {
			// One more try for a passing fault; a longer outage ends in
			// a resubscription, which makes every node catch up.
			err = b.send(batch)
		}
		for _, r := range batch {
			if r.flushed != nil {
				close(r.flushed)
			}
		}
		if err != nil && !failing && b.ctx.Err() == nil {
			b.c.log.Warn("publishing to redis failed; other nodes will read the messages from the database", "err", err)
		}
		failing = err != nil
	}
}

// send publishes a batch in one round trip.
func (b *Broker) send(batch []pubReq) error {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	_, err := b.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, r := range batch {
			if r.flushed == nil {
				p.Publish(ctx, r.channel, r.data)
			}
		}
		return nil
	})
	return err
}

// receive reads from the pub/sub connection until Close. go-redis
// reconnects and resubscribes by itself after an error; each confirmed
// (re)subscription makes the room catch up from the database.
func (b *Broker) receive() {
	defer b.wg.Done()
	backoff := 50 * time.Millisecond
	for {
		msg, err := b.ps.ReceiveTimeout(b.ctx, 2*time.Second)
		if b.ctx.Err() != nil {
			return
		}
		if err != nil {
			var timeout interface{ Timeout() bool }
			if errors.As(err, &timeout) && timeout.Timeout() {
				_ = b.ps.Ping(b.ctx) // a dead connection fails the next receive
				continue
			}
			select {
			case <-time.After(backoff):
			case <-b.ctx.Done():
				return
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				b.subscribed(m.Channel)
			}
		case *redis.Message:
			b.received(m.Channel, []byte(m.Payload))
		}
	}
}

// subscribed handles Redis's confirmation of a (re)subscription.
func (b *Broker) subscribed(channel string) {
	if channel == b.c.ctlChannel() {
		return
	}
	b.mu.Lock()
	s := b.rooms[b.roomOf(channel)]
	b.mu.Unlock()
	if s != nil {
		s.confirmed()
	}
}

func (b *Broker) roomOf(channel string) string { return channel[len(b.channel("")):] }

// received handles one publication.
func (b *Broker) received(channel string, data []byte) {
	if channel == b.c.ctlChannel() {
		node, kind, arg, err := decodeControl(data)
		if err == nil && node != b.c.node && kind == ctlEnd {
			b.c.sessionEnded(arg)
		}
		return
	}
	node, e, err := decodeEvent(data)
	if err != nil {
		b.c.log.Warn("ignoring a malformed event from redis", "err", err)
		return
	}
	room := b.roomOf(channel)
	b.mu.Lock()
	s := b.rooms[room]
	b.mu.Unlock()
	if s == nil {
		return
	}
	if e.ID != 0 {
		s.offer(e) // our own come back too: the sequencer drops what it has
	} else if node != b.c.node {
		b.handler(room, e)
	}
}
