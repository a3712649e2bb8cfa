// Package cluster joins Parley nodes into one chat through Redis: fan-out
// of room events (Broker), room membership for the whole cluster
// (Presence), single-use tickets any node can redeem (Tickets), login rate
// limits (Limiter), and logouts that close sockets on every node.
//
// Redis holds only short-lived state; users, sessions and messages live in
// the shared database. When Redis goes away each node keeps serving its
// own clients, reconnects with backoff, and on return re-registers its
// members and fills, from the database, any message it missed meanwhile.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Options configures a Cluster. Zero values take the defaults noted.
type Options struct {
	Logger *slog.Logger
	// Prefix starts every Redis key and channel ("parley:").
	Prefix string
	// NodeTTL is how long a node that stopped sending heartbeats still
	// counts as alive (10s); its users leave the member lists after it.
	NodeTTL time.Duration
	// Heartbeat is how often a node proves it is alive and looks for dead
	// ones (1s).
	Heartbeat time.Duration
}

// Cluster is this node's connection to the others, through Redis.
type Cluster struct {
	rdb    *redis.Client
	log    *slog.Logger
	prefix string
	node   string
	ttl    time.Duration
	beat   time.Duration

	healthy atomic.Bool
	// resyncDue is set when the register had lost this node and its
	// members are not yet registered again. Only the beating goroutine
	// (Open, then run) touches it.
	resyncDue bool
	wg        sync.WaitGroup
	stop      chan struct{}
	once      sync.Once

	presence *Presence
	// onEnded is told about sessions that ended on other nodes; onLeft
	// about users who left a room because their node died.
	mu      sync.Mutex
	onEnded func(session string)
	onLeft  func(room, user string)
}

// ErrUnavailable wraps failures to reach Redis.
var ErrUnavailable = errors.New("cluster: redis unavailable")

// Open connects to the Redis at url (redis:// or rediss://) and starts the
// node's heartbeat. It fails when Redis cannot be reached now.
func Open(ctx context.Context, url string, opts Options) (*Cluster, error) {
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("bad Redis URL: %v", err)
	}
	ro.DialTimeout = 2 * time.Second
	ro.ReadTimeout = 2 * time.Second
	ro.WriteTimeout = 2 * time.Second
	ro.MaxRetries = 1
	ro.MinRetryBackoff = 50 * time.Millisecond
	ro.MaxRetryBackoff = time.Second
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Prefix == "" {
		opts.Prefix = "parley:"
	}
	if opts.NodeTTL <= 0 {
		opts.NodeTTL = 10 * time.Second
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = time.Second
	}
	c := &Cluster{
		rdb:    redis.NewClient(ro),
		log:    opts.Logger,
		prefix: opts.Prefix,
		node:   uuid.NewString(),
		ttl:    opts.NodeTTL,
		beat:   opts.Heartbeat,
		stop:   make(chan struct{}),
	}
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		_ = c.rdb.Close()
		return nil, fmt.Errorf("cannot reach Redis at %s: %v", ro.Addr, err)
	}
	c.healthy.Store(true)
	c.presence = &Presence{c: c, local: make(map[string]map[string]struct{})}
	if err := c.heartbeat(ctx); err != nil {
		_ = c.rdb.Close()
		return nil, fmt.Errorf("cannot register with Redis: %v", err)
	}
	c.wg.Add(1)
	go c.run()
	return c, nil
}

// Node is this node's id in the cluster (random, new at every start).
func (c *Cluster) Node() string { return c.node }

// Ping reports whether Redis answers now.
func (c *Cluster) Ping(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Presence returns the cluster-wide membership.
func (c *Cluster) Presence() *Presence { return c.presence }

// OnSessionEnded sets the function told about logouts on other nodes.
func (c *Cluster) OnSessionEnded(f func(session string)) {
	c.mu.Lock()
	c.onEnded = f
	c.mu.Unlock()
}

// OnLeft sets the function told about users who left a room because their
// node stopped (it should send user_left to the room).
func (c *Cluster) OnLeft(f func(room, user string)) {
	c.mu.Lock()
	c.onLeft = f
	c.mu.Unlock()
}

// EndSession tells every other node that session has logged out.
func (c *Cluster) EndSession(ctx context.Context, session string) error {
	if err := c.rdb.Publish(ctx, c.ctlChannel(), encodeControl(c.node, ctlEnd, session)).Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Close stops the heartbeat, takes this node out of the cluster (its
// remaining members leave) and closes the connection to Redis. Close the
// broker first.
func (c *Cluster) Close() error {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.reap(ctx, c.node)
	return c.rdb.Close()
}

func (c *Cluster) key(parts ...string) string {
	k := c.prefix
	for i, p := range parts {
		if i > 0 {
			k += ":"
		}
		k += p
	}
	return k
}

func (c *Cluster) ctlChannel() string { return c.key("ctl") }

// run sends heartbeats and removes dead nodes until Close.
func (c *Cluster) run() {
	defer c.wg.Done()
	t := time.NewTicker(c.beat)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.beat*2)
		err := c.heartbeat(ctx)
		if err == nil {
			c.reapDead(ctx)
		}
		cancel()
		if was := c.healthy.Swap(err == nil); was != (err == nil) {
			if err != nil {
				c.log.Warn("redis unreachable; serving local clients only", "err", err)
			} else {
				c.log.Info("redis reachable again")
			}
		}
	}
}

// heartbeat records that this node is alive. When the node was missing
// from the register (Redis restarted empty, or the others took it for
// dead) it registers its members again, at this beat or, if that fails,
// at the next ones: once the node is back in the register, the beat that
// re-added it is the only one that would otherwise know.
func (c *Cluster) heartbeat(ctx context.Context) error {
	added, err := c.rdb.ZAdd(ctx, c.key("nodes"), redis.Z{Score: float64(time.Now().UnixMilli()), Member: c.node}).Result()
	if err != nil {
		return err
	}
	if added == 1 {
		c.resyncDue = true
	}
	if c.resyncDue {
		if err := c.presence.resync(ctx); err != nil {
			return err
		}
		c.resyncDue = false
	}
	return nil
}

// reapDead removes every node whose heartbeat is older than the TTL.
func (c *Cluster) reapDead(ctx context.Context) {
	cutoff := time.Now().Add(-c.ttl).UnixMilli()
	dead, err := c.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: c.key("nodes"), Start: "-inf", Stop: cutoff, ByScore: true}).Result()
	if err != nil {
		return
	}
	for _, node := range dead {
		if node == c.node {
			continue // we are alive: our next heartbeat re-registers us
		}
		c.log.Warn("a node stopped sending heartbeats; removing its members", "node", node)
		c.reap(ctx, node)
	}
}

// reap takes node out of the cluster and announces user_left for the
// users who were in a room only through it. Only one caller wins a node.
func (c *Cluster) reap(ctx context.Context, node string) {
	left, err := reapScript.Run(ctx, c.rdb, []string{c.key("nodes"), c.key("node", node)}, node, c.prefix).StringSlice()
	if err != nil {
		c.log.Error("removing a node's members failed", "node", node, "err", err)
		return
	}
	c.mu.Lock()
	onLeft := c.onLeft
	c.mu.Unlock()
	if onLeft == nil || node == c.node {
		return
	}
	for i := 0; i+1 < len(left); i += 2 {
		onLeft(left[i], left[i+1])
	}
}

// sessionEnded passes a remote logout to the hub.
func (c *Cluster) sessionEnded(session string) {
	c.mu.Lock()
	f := c.onEnded
	c.mu.Unlock()
	if f != nil {
		f(session)
	}
}
