package cluster

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/internal/chat"
)

// Presence is room membership for the whole cluster, in Redis:
//
//	<prefix>node:<node>       set of "room\x00user" this node holds
//	<prefix>members:<room>    hash user -> number of nodes holding the user there
//	<prefix>rooms             hash room -> number of users in it
//	<prefix>nodes             sorted set node -> last heartbeat (Unix ms)
//
// Each change is one Lua script, so the counts never disagree with the
// node sets. A node also keeps its own part in memory, to register it
// again when Redis comes back empty.
type Presence struct {
	c     *Cluster
	mu    sync.Mutex
	local map[string]map[string]struct{} // room -> users on this node
}

var (
	_ chat.Presence       = (*Presence)(nil)
	_ chat.TypingThrottle = (*Presence)(nil)
)

// joinScript: KEYS node set, members hash, rooms hash; ARGV room, user.
// Returns 1 when no node had the user in the room before.
var joinScript = redis.NewScript(`
if redis.call('SADD', KEYS[1], ARGV[1] .. '\0' .. ARGV[2]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[2], ARGV[2], 1) == 1 then
  redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
  return 1
end
return 0`)

// leaveScript: same keys and arguments. Returns 1 when no node has the user
// in the room any more.
var leaveScript = redis.NewScript(`
if redis.call('SREM', KEYS[1], ARGV[1] .. '\0' .. ARGV[2]) == 0 then
  if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 0 end
  return 1
end
if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) > 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[2])
if redis.call('HINCRBY', KEYS[3], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[3], ARGV[1]) end
return 1`)

// reapScript: KEYS nodes zset, the node's set; ARGV node, key prefix.
// Removes the node and its members; returns room, user pairs that no node
// holds any more. Only the caller that removes the node from the zset does
// the work, so two reapers never count twice.
var reapScript = redis.NewScript(`
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 0 then return {} end
local out = {}
for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local i = string.find(m, '\0', 1, true)
  local room, user = string.sub(m, 1, i - 1), string.sub(m, i + 1)
  local mk = ARGV[2] .. 'members:' .. room
  if redis.call('HINCRBY', mk, user, -1) <= 0 then
    redis.call('HDEL', mk, user)
    if redis.call('HINCRBY', ARGV[2] .. 'rooms', room, -1) <= 0 then redis.call('HDEL', ARGV[2] .. 'rooms', room) end
    table.insert(out, room)
    table.insert(out, user)
  end
end
redis.call('DEL', KEYS[2])
return out`)

func (p *Presence) keys(room string) []string {
	return []string{p.c.key("node", p.c.node), p.c.key("members", room), p.c.key("rooms")}
}

// Join records user in room on this node.
func (p *Presence) Join(ctx context.Context, room, user string) (bool, error) {
	p.mu.Lock()
	users := p.local[room]
	if users == nil {
		users = make(map[string]struct{})
		p.local[room] = users
	}
	users[user] = struct{}{}
	p.mu.Unlock()
	n, err := joinScript.Run(ctx, p.c.rdb, p.keys(room), room, user).Int()
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return n == 1, nil
}

// Leave removes user from room on this node.
func (p *Presence) Leave(ctx context.Context, room, user string) (bool, error) {
	p.mu.Lock()
	if users := p.local[room]; users != nil {
		delete(users, user)
		if len(users) == 0 {
			delete(p.local, room)
		}
	}
	p.mu.Unlock()
	n, err := leaveScript.Run(ctx, p.c.rdb, p.keys(room), room, user).Int()
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return n == 1, nil
}

// Members lists the users in room on any node.
func (p *Presence) Members(ctx context.Context, room string) ([]string, error) {
	users, err := p.c.rdb.HKeys(ctx, p.c.key("members", room)).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return users, nil
}

// Rooms lists the rooms with members on any node.
func (p *Presence) Rooms(ctx context.Context) ([]chat.RoomInfo, error) {
	all, err := p.c.rdb.HGetAll(ctx, p.c.key("rooms")).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	out := make([]chat.RoomInfo, 0, len(all))
	for name, n := range all {
		count, err := strconv.Atoi(n)
		if err != nil || count <= 0 {
			continue
		}
		out = append(out, chat.RoomInfo{Name: name, Members: count})
	}
	return out, nil
}

// AllowTyping lets one typing event per user and room through every
// interval, cluster-wide (SET NX with the interval as expiry). When Redis
// cannot be asked it allows: the node's own throttle still holds.
func (p *Presence) AllowTyping(ctx context.Context, room, user string, every time.Duration) bool {
	ok, err := p.c.rdb.SetNX(ctx, p.c.key("typing", room, user), 1, every).Result()
	return ok || err != nil
}

// resync registers this node's members again (after Redis lost them). It
// sends no join events: the users never left.
func (p *Presence) resync(ctx context.Context) error {
	p.mu.Lock()
	var pairs [][2]string
	for room, users := range p.local {
		for u := range users {
			pairs = append(pairs, [2]string{room, u})
		}
	}
	p.mu.Unlock()
	if len(pairs) == 0 {
		return nil
	}
	_, err := p.c.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, pr := range pairs {
			joinScript.Eval(ctx, pipe, p.keys(pr[0]), pr[0], pr[1])
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.c.log.Info("registered this node's members with redis again", "memberships", len(pairs))
	return nil
}
