package load

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// errorf is fmt.Errorf, named for the places that build an error to count.
func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }

// runConnect is the reconnect storm: on "go", every planned client of this
// worker gets a ticket with its existing session, upgrades and waits for
// room_joined; the time from the ticket request to room_joined is recorded.
// The connections stay open until the storm of this worker is over.
func (w *worker) runConnect(ctx context.Context, cmds <-chan Command, emit func(Report) error) error {
	if err := emit(Report{Phase: PhaseReady}); err != nil {
		return err
	}
	if _, err := await(ctx, cmds, "go"); err != nil {
		return err
	}
	idx := w.mine()
	conns := make([]*Conn, len(idx))
	var mu sync.Mutex
	done := Report{Phase: PhaseDone, Start: time.Now().UnixNano()}
	parallel(ctx, idx, w.cfg.Concurrency, func(k, i int) {
		t0 := time.Now()
		step, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		c, err := w.dialer.Dial(step, w.session(w.cfg.Plan.User(i)), nil, 0)
		if err == nil {
			err = c.WaitRoom(step, "general")
			conns[k] = c
		}
		if err != nil {
			w.fail(fmt.Errorf("client %d: %w", i, err))
			return
		}
		w.track.Latency.Record(time.Since(t0).Microseconds())
		mu.Lock()
		done.Sessions++
		mu.Unlock()
	})
	done.End = time.Now().UnixNano()
	for _, c := range conns {
		if c != nil {
			w.conns = append(w.conns, c)
		}
	}
	done.Connected = len(w.conns)
	done.Dropped = w.dropped()
	done.Latency = w.track.Latency.Snapshot()
	if err := ctx.Err(); err != nil {
		w.fail(fmt.Errorf("storm: %w", err))
	}
	w.fillErrors(&done)
	return emit(done)
}
