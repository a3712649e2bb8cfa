package load

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// publish sends load messages from connection sender at perSec messages per
// second, the first after phase times the interval (0 <= phase < 1, so that
// senders do not all fire at the same instant), until stop, then waits (up to drain) for the server to answer each
// one. It returns how many were sent. It is the connection's only writer
// while it runs.
func (c *Conn) publish(ctx context.Context, sender int, perSec, phase float64, stop time.Time, size int, drain time.Duration) (int64, error) {
	interval := time.Duration(float64(time.Second) / perSec)
	start := time.Now().Add(time.Duration(phase * float64(interval)))
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	var sent int64
	for seq := int64(1); ; seq++ {
		due := start.Add(time.Duration(seq-1) * interval)
		if !due.Before(stop) {
			break
		}
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return sent, ctx.Err()
			}
		}
		frame := make([]byte, 0, size+96)
		frame = append(frame, `{"type":"send_message","id":"m`...)
		frame = strconv.AppendInt(frame, seq, 10)
		frame = append(frame, `","payload":{"message":"`...)
		frame = append(frame, LoadText(sender, seq, time.Now().UnixNano(), size)...)
		frame = append(frame, `"}}`...)
		if err := c.write(frame); err != nil {
			return sent, err
		}
		sent++
	}
	// Wait for the answers; the reader counts them.
	_, err := c.awaitAnswers(ctx, sent, drain)
	return sent, err
}

// awaitAnswers waits until n load messages have been answered (ack or
// error), for at most limit (0: no limit), and reports whether they were;
// the error is the context's, when it ends first.
func (c *Conn) awaitAnswers(ctx context.Context, n int64, limit time.Duration) (bool, error) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var expired <-chan time.Time
	if limit > 0 {
		t := time.NewTimer(limit)
		defer t.Stop()
		expired = t.C
	}
	for c.acked.Load()+c.nacked.Load() < n {
		select {
		case <-tick.C:
		case <-expired:
			return false, nil
		case <-c.done:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	return true, nil
}

// runFanout publishes from the senders among this worker's connections, then
// waits until its members have seen what the coordinator says they should.
func (w *worker) runFanout(ctx context.Context, cmds <-chan Command, emit func(Report) error) error {
	p := w.cfg.Plan
	w.setup(ctx)
	ready := Report{Phase: PhaseReady, Connected: len(w.conns), RoomMembers: map[int]int{}}
	for _, i := range w.idx {
		ready.RoomMembers[p.Room(i)]++
	}
	w.fillErrors(&ready)
	if err := emit(ready); err != nil {
		return err
	}
	if _, err := await(ctx, cmds, "go"); err != nil {
		return err
	}

	perSender := w.cfg.Rate / float64(max(p.Rooms, 1)*max(p.Senders, 1))
	start := time.Now()
	stop := start.Add(w.cfg.Duration)
	sent := Report{Phase: PhaseSent, SentOK: map[int]int64{}, Start: start.UnixNano()}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for k, i := range w.idx {
		if !p.IsSender(i) {
			continue
		}
		c := w.conns[k]
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Senders are the plan's first Rooms*Senders connections.
			phase := float64(i) / float64(max(p.Rooms, 1)*max(p.Senders, 1))
			n, err := c.publish(ctx, i, perSender, phase, stop, w.cfg.Size, w.cfg.Drain)
			if err != nil {
				w.fail(err)
			}
			acked, nacked := c.acked.Load(), c.nacked.Load()
			mu.Lock()
			defer mu.Unlock()
			sent.Sent += n
			sent.SendErrors += nacked
			sent.Unacked += max(n-acked-nacked, 0)
			sent.SentOK[p.Room(i)] += n - nacked
			if nacked > 0 {
				w.fail(errorf("connection %d: %d messages refused, last: %s", i, nacked, c.Problem()))
			}
		}()
	}
	wg.Wait()
	if err := emit(sent); err != nil {
		return err
	}

	cmd, err := await(ctx, cmds, "drain")
	if err != nil {
		return err
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	limit := time.NewTimer(w.cfg.Drain)
	defer limit.Stop()
wait:
	for w.track.Deliveries() < cmd.Expect {
		select {
		case <-tick.C:
		case <-limit.C:
			break wait
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	done := Report{Phase: PhaseDone, Connected: len(w.conns), Dropped: w.dropped()}
	w.track.fill(&done)
	done.Start = start.UnixNano()
	w.fillErrors(&done)
	return emit(done)
}
