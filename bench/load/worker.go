package load

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// worker is the state of one worker process running one scenario.
type worker struct {
	cfg    WorkerConfig
	dialer *Dialer
	track  *Tracker
	conns  []*Conn // connected, in the order of idx
	idx    []int   // plan index of each entry of conns

	mu         sync.Mutex // guards the error fields below
	errors     int
	firstError string
}

// RunWorker runs cfg's scenario: it reports each phase through emit and
// waits for the coordinator's commands on cmds (closed when the coordinator
// goes away). It closes every connection it opened before returning.
func RunWorker(ctx context.Context, cfg WorkerConfig, cmds <-chan Command, emit func(Report) error) error {
	if !cfg.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, cfg.Deadline)
		defer cancel()
	}
	api := NewAPI(cfg.BaseURL, max(cfg.Concurrency, 1))
	defer api.Close()
	d, err := NewDialer(DialConfig{Target: cfg.Target, BaseURL: cfg.BaseURL, SourceIP: cfg.SourceIP, Timeout: 15 * time.Second}, api)
	if err != nil {
		return err
	}
	defer d.Close()
	w := &worker{cfg: cfg, dialer: d, track: &Tracker{Plan: cfg.Plan}}
	defer w.closeAll()
	switch cfg.Scenario {
	case ScenarioIdle:
		return w.runIdle(ctx, cmds, emit)
	case ScenarioFanout:
		return w.runFanout(ctx, cmds, emit)
	case ScenarioConnect:
		return w.runConnect(ctx, cmds, emit)
	}
	return fmt.Errorf("unknown scenario %q", cfg.Scenario)
}

// mine returns the plan indices this worker holds.
func (w *worker) mine() []int {
	var out []int
	for i := 0; i < w.cfg.Plan.Conns; i++ {
		if w.cfg.Plan.Worker(i) == w.cfg.Worker {
			out = append(out, i)
		}
	}
	return out
}

// session returns the credentials of user u.
func (w *worker) session(u int) Session {
	if u < len(w.cfg.Sessions) {
		return w.cfg.Sessions[u]
	}
	return Session{User: "load_" + strconv.Itoa(u)}
}

// fail counts one error and keeps the first message.
func (w *worker) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errors++
	if w.firstError == "" {
		w.firstError = err.Error()
	}
}

// fillErrors copies the error count into r.
func (w *worker) fillErrors(r *Report) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r.Errors += w.errors
	if r.FirstError == "" {
		r.FirstError = w.firstError
	}
}

// open dials connection i, waits for the first room_joined and moves it to
// its planned room. It returns the connection only when all of that worked.
func (w *worker) open(ctx context.Context, i int) (*Conn, error) {
	p := w.cfg.Plan
	c, err := w.dialer.Dial(ctx, w.session(p.User(i)), w.track, p.Room(i))
	if err != nil {
		return nil, err
	}
	step, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := c.WaitRoom(step, "general"); err != nil {
		c.Close()
		return nil, err
	}
	if room := p.RoomName(i); room != "general" {
		if err := c.ChangeRoom(step, room); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// parallel runs f for every index of idx with at most n calls at once.
func parallel(ctx context.Context, idx []int, n int, f func(k, i int)) {
	sem := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	for k, i := range idx {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(k, i)
		}()
	}
	wg.Wait()
}

// setup opens every planned connection of this worker.
func (w *worker) setup(ctx context.Context) {
	idx := w.mine()
	conns := make([]*Conn, len(idx))
	parallel(ctx, idx, w.cfg.Concurrency, func(k, i int) {
		c, err := w.open(ctx, i)
		if err != nil {
			w.fail(fmt.Errorf("connection %d: %w", i, err))
			return
		}
		conns[k] = c
	})
	for k, c := range conns {
		if c != nil {
			w.conns = append(w.conns, c)
			w.idx = append(w.idx, idx[k])
		}
	}
	if err := ctx.Err(); err != nil {
		w.fail(fmt.Errorf("set-up: %w", err))
	}
}

// await waits for command name from the coordinator.
func await(ctx context.Context, cmds <-chan Command, name string) (Command, error) {
	select {
	case c, ok := <-cmds:
		if !ok {
			return Command{}, errors.New("coordinator went away")
		}
		if c.Cmd != name {
			return Command{}, fmt.Errorf("got command %q, want %q", c.Cmd, name)
		}
		return c, nil
	case <-ctx.Done():
		return Command{}, fmt.Errorf("waiting for %q: %w", name, ctx.Err())
	}
}

// dropped counts connections the server closed.
func (w *worker) dropped() int {
	n := 0
	for _, c := range w.conns {
		if c.Dropped() {
			n++
		}
	}
	return n
}

// closeAll closes every open connection, a few at a time.
func (w *worker) closeAll() {
	idx := make([]int, len(w.conns))
	for k := range idx {
		idx[k] = k
	}
	parallel(context.Background(), idx, 64, func(k, _ int) { w.conns[k].Close() })
	w.conns = nil
}

// runIdle holds the connections for the duration, then checks that each
// one still answers change_room.
func (w *worker) runIdle(ctx context.Context, cmds <-chan Command, emit func(Report) error) error {
	w.setup(ctx)
	ready := Report{Phase: PhaseReady, Connected: len(w.conns)}
	w.fillErrors(&ready)
	if err := emit(ready); err != nil {
		return err
	}
	if _, err := await(ctx, cmds, "go"); err != nil {
		return err
	}
	hold := time.NewTimer(w.cfg.Duration)
	defer hold.Stop()
	select {
	case <-hold.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	done := Report{Phase: PhaseDone, Connected: len(w.conns), Dropped: w.dropped()}
	var mu sync.Mutex
	idx := make([]int, len(w.conns))
	for k := range idx {
		idx[k] = k
	}
	parallel(ctx, idx, w.cfg.Concurrency, func(k, _ int) {
		step, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := w.conns[k].ChangeRoom(step, w.cfg.Plan.RoomName(w.idx[k])); err != nil {
			w.fail(fmt.Errorf("liveness of connection %d: %w", w.idx[k], err))
			return
		}
		mu.Lock()
		done.Alive++
		mu.Unlock()
	})
	w.fillErrors(&done)
	return emit(done)
}
