package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/auth"
)

// Tickets is the cluster's auth.TicketStore: a ticket issued on one node
// can be redeemed on any, once. Keys hold a hash of the ticket, never the
// ticket itself, and expire with it.
type Tickets struct{ c *Cluster }

var _ auth.TicketStore = Tickets{}

// Tickets returns the cluster's ticket store.
func (c *Cluster) Tickets() Tickets { return Tickets{c} }

type ticketValue struct {
	User    string `json:"u"`
	Session string `json:"s"`
	Expires int64  `json:"e"` // Unix ms
}

func (t Tickets) key(token string) string {
	sum := sha256.Sum256([]byte(token))
	return t.c.key("ticket", hex.EncodeToString(sum[:]))
}

func (t Tickets) sessionKey(session string) string { return t.c.key("session-tickets", session) }

// Put stores a ticket until it expires, and notes it under its session.
func (t Tickets) Put(ctx context.Context, token string, tk auth.Ticket) error {
	ttl := time.Until(tk.Expires)
	if ttl <= 0 {
		return nil // already expired: nothing could redeem it
	}
	v, err := json.Marshal(ticketValue{User: tk.User, Session: tk.Session, Expires: tk.Expires.UnixMilli()})
	if err != nil {
		return err
	}
	k := t.key(token)
	_, err = t.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, k, v, ttl+time.Second)
		p.SAdd(ctx, t.sessionKey(tk.Session), k)
		p.Expire(ctx, t.sessionKey(tk.Session), ttl+time.Second)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Take removes the ticket and returns it, atomically (GETDEL): of many
// nodes racing with one ticket exactly one gets it.
func (t Tickets) Take(ctx context.Context, token string) (auth.Ticket, bool, error) {
	raw, err := t.c.rdb.GetDel(ctx, t.key(token)).Bytes()
	if errors.Is(err, redis.Nil) {
		return auth.Ticket{}, false, nil
	}
	if err != nil {
		return auth.Ticket{}, false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var v ticketValue
	if err := json.Unmarshal(raw, &v); err != nil {
		return auth.Ticket{}, false, fmt.Errorf("a ticket in redis is corrupt: %v", err)
	}
	return auth.Ticket{User: v.User, Session: v.Session, Expires: time.UnixMilli(v.Expires)}, true, nil
}

// dropScript deletes every ticket listed under a session, and the list.
var dropScript = redis.NewScript(`
for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do redis.call('DEL', k) end
redis.call('DEL', KEYS[1])
return 0`)

// DropSession voids every ticket of the session.
func (t Tickets) DropSession(ctx context.Context, session string) error {
	if err := dropScript.Run(ctx, t.c.rdb, []string{t.sessionKey(session)}).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Limiter is the cluster's auth.Limiter: perMinute attempts per key in each
// minute (a fixed window, counted in Redis), shared by every node.
type Limiter struct {
	c         *Cluster
	perMinute int64
	now       func() time.Time
}

var _ auth.Limiter = (*Limiter)(nil)

// Limiter returns a limiter of perMinute attempts per key per minute.
func (c *Cluster) Limiter(perMinute int) *Limiter {
	return &Limiter{c: c, perMinute: int64(perMinute), now: time.Now}
}

// limitScript counts one attempt in the window and starts the window's
// expiry on the first.
var limitScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`)

// Allow counts one attempt under key.
func (l *Limiter) Allow(ctx context.Context, key string) (bool, error) {
	window := l.now().Unix() / 60
	sum := sha256.Sum256([]byte(key)) // keys hold addresses and names: keep them out of Redis
	k := l.c.key("limit", strconv.FormatInt(window, 10), hex.EncodeToString(sum[:16]))
	n, err := limitScript.Run(ctx, l.c.rdb, []string{k}, 61_000).Int64()
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return n <= l.perMinute, nil
}
