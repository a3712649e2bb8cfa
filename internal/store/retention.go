package store

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Retention says which messages to keep. Zero fields keep everything.
type Retention struct {
	// MaxAge deletes messages sent longer ago than this (when > 0).
	MaxAge time.Duration
	// MaxPerRoom keeps only the newest this many messages of each room
	// (when > 0).
	MaxPerRoom int
}

// Enabled reports whether r deletes anything at all.
func (r Retention) Enabled() bool { return r.MaxAge > 0 || r.MaxPerRoom > 0 }

// DefaultPruneEvery is how often StartPruner prunes when given every <= 0.
const DefaultPruneEvery = time.Hour

// StartPruner prunes s according to r once at start and then every every,
// on its own goroutine, logging what it deleted and any failure (a failed
// run is retried at the next tick). It never blocks its caller: the store
// deletes in small batches, so writers interleave with a long prune. The
// returned stop cancels a prune in progress, waits for the goroutine to
// end, and may be called more than once. When r keeps everything no
// goroutine is started.
func StartPruner(s Store, r Retention, every time.Duration, log *slog.Logger) (stop func()) {
	if !r.Enabled() {
		return func() {}
	}
	if every <= 0 {
		every = DefaultPruneEvery
	}
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ticker := time.NewTicker(every)
		defer ticker.Stop()
		for {
			pruneOnce(ctx, s, r, log)
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(cancel)
		<-done
	}
}

// pruneOnce runs one Prune and logs its outcome.
func pruneOnce(ctx context.Context, s Store, r Retention, log *slog.Logger) {
	var olderThan time.Time
	if r.MaxAge > 0 {
		olderThan = time.Now().Add(-r.MaxAge)
	}
	start := time.Now()
	n, err := s.Prune(ctx, olderThan, r.MaxPerRoom)
	switch {
	case err != nil && ctx.Err() != nil:
		log.Info("message pruning stopped", "deleted", n)
	case err != nil:
		log.Warn("message pruning failed", "deleted", n, "err", err)
	case n > 0:
		log.Info("pruned old messages", "deleted", n, "took", time.Since(start))
	default:
		log.Debug("nothing to prune")
	}
}
