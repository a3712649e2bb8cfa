package auth

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter decides whether one more attempt under key is allowed now.
type Limiter interface {
	Allow(ctx context.Context, key string) (bool, error)
}

// MemoryLimiter is a per-key token bucket (golang.org/x/time/rate) held in
// process: perMinute attempts a minute, in a burst of as many. Keys whose
// bucket has refilled are forgotten, so memory stays bounded by the number of
// keys active in the last minute.
type MemoryLimiter struct {
	mu        sync.Mutex
	limit     rate.Limit
	burst     int
	keys      map[string]*rate.Limiter
	lastSweep time.Time
	now       func() time.Time
}

// NewMemoryLimiter allows perMinute attempts per key per minute. now may be
// nil.
func NewMemoryLimiter(perMinute int, now func() time.Time) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	return &MemoryLimiter{
		limit: rate.Limit(float64(perMinute) / 60),
		burst: perMinute,
		keys:  make(map[string]*rate.Limiter),
		now:   now,
	}
}

// Allow takes one token from key's bucket.
func (l *MemoryLimiter) Allow(_ context.Context, key string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) >= time.Minute {
		for k, lim := range l.keys {
			if lim.TokensAt(now) >= float64(l.burst) {
				delete(l.keys, k)
			}
		}
		l.lastSweep = now
	}
	lim, ok := l.keys[key]
	if !ok {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.keys[key] = lim
	}
	return lim.AllowN(now, 1), nil
}
