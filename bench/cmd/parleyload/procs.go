package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/parley-chat/parley/bench/load"
)

// workerProc is one worker process started by the coordinator.
type workerProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	enc     *json.Encoder
	reports chan load.Report // filled by the process's stdout reader, closed at EOF
	exited  chan struct{}    // closed once the process has been waited for
}

// startWorkers forks n copies of this program with -worker and sends each
// its config. On error, the ones already started are stopped.
func startWorkers(cfgs []load.WorkerConfig) ([]*workerProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var procs []*workerProc
	for _, cfg := range cfgs {
		p, err := startWorker(exe, cfg)
		if err != nil {
			stopWorkers(procs)
			return nil, err
		}
		procs = append(procs, p)
	}
	return procs, nil
}

// startWorker starts one worker process and writes its config.
func startWorker(exe string, cfg load.WorkerConfig) (*workerProc, error) {
	cmd := exec.Command(exe, "-worker")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &workerProc{cmd: cmd, stdin: stdin, enc: json.NewEncoder(stdin),
		reports: make(chan load.Report, 8), exited: make(chan struct{})}
	// The reader goroutine owns stdout; it hands each report over and
	// closes reports at the end of the stream, then reaps the process.
	go func() {
		dec := json.NewDecoder(stdout)
		for {
			var r load.Report
			if err := dec.Decode(&r); err != nil {
				break
			}
			p.reports <- r
		}
		close(p.reports)
		_ = cmd.Wait()
		close(p.exited)
	}()
	if err := p.enc.Encode(cfg); err != nil {
		stopWorkers([]*workerProc{p})
		return nil, fmt.Errorf("worker %d: %w", cfg.Worker, err)
	}
	return p, nil
}

// send writes a command to every worker; expect, if not nil, gives each its
// own Expect.
func send(procs []*workerProc, name string, expect []int64) error {
	for w, p := range procs {
		c := load.Command{Cmd: name}
		if expect != nil {
			c.Expect = expect[w]
		}
		if err := p.enc.Encode(c); err != nil {
			return fmt.Errorf("worker %d: %w", w, err)
		}
	}
	return nil
}

// collect waits for the report of phase from every worker.
func collect(ctx context.Context, procs []*workerProc, phase string) ([]load.Report, error) {
	out := make([]load.Report, len(procs))
	for w, p := range procs {
		select {
		case r, ok := <-p.reports:
			if !ok {
				return nil, fmt.Errorf("worker %d ended before %q (see its log above)", w, phase)
			}
			if r.Phase != phase {
				return nil, fmt.Errorf("worker %d reported %q, want %q", w, r.Phase, phase)
			}
			out[w] = r
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %q: %w", phase, ctx.Err())
		}
	}
	return out, nil
}

// stopWorkers closes each worker's stdin, which ends it after it has closed
// its connections, and kills (by its PID) any still running after a grace
// period. It returns once every process has been reaped.
func stopWorkers(procs []*workerProc) {
	for _, p := range procs {
		_ = p.stdin.Close()
	}
	grace := time.NewTimer(30 * time.Second)
	defer grace.Stop()
	expired := false
	for _, p := range procs {
		if !expired {
			select {
			case <-p.exited:
				continue
			case <-grace.C:
				expired = true
			}
		}
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
}

// errNoWorkers is returned when a plan has nothing to run.
var errNoWorkers = errors.New("no worker to run")
