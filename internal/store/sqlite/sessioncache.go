package sqlite

import (
	"sync"

	"github.com/parley-chat/parley/internal/store"
)

// sessionCache remembers, for sessions touched in the last TouchResolution,
// their user and the last use recorded in the database, so that a busy
// session (a reconnect storm: POST /ticket after POST /ticket) costs no
// query at all. Like the newest-id cache it relies on this process being
// the only one using the database file.
//
// It never makes a session outlive its deletion: DeleteSession drops the
// entry and bumps epoch, and a TouchSession that read the database before
// a deletion (epoch moved meanwhile) does not put its answer in the cache.
type sessionCache struct {
	mu      sync.Mutex
	epoch   uint64
	entries map[string]cachedSession
}

type cachedSession struct {
	user string
	last int64 // last_used_ms as stored
}

// maxCachedSessions bounds the cache; when full, stale entries go first.
const maxCachedSessions = 1 << 16

// lookup returns the user of session id when its recorded last use is less
// than TouchResolution before nowMS, and the epoch to pass to remember.
func (c *sessionCache) lookup(id string, nowMS int64) (user string, ok bool, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.entries[id]
	if found {
		if age := nowMS - e.last; age >= 0 && age < store.TouchResolution.Milliseconds() {
			return e.user, true, c.epoch
		}
		delete(c.entries, id)
	}
	return "", false, c.epoch
}

// remember caches what the database said about session id, unless a
// session was deleted since epoch was read.
func (c *sessionCache) remember(id, user string, last int64, epoch uint64, nowMS int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	if c.entries == nil {
		c.entries = make(map[string]cachedSession)
	}
	if len(c.entries) >= maxCachedSessions {
		for k, e := range c.entries {
			if nowMS-e.last >= store.TouchResolution.Milliseconds() {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCachedSessions {
			clear(c.entries)
		}
	}
	c.entries[id] = cachedSession{user: user, last: last}
}

// forget drops session id; call it after deleting the session.
func (c *sessionCache) forget(id string) {
	c.mu.Lock()
	c.epoch++
	delete(c.entries, id)
	c.mu.Unlock()
}
