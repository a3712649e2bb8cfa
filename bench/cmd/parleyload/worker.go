package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/parley-chat/parley/bench/load"
)

// runWorker is the worker process: it reads its load.WorkerConfig and then
// load.Command lines from stdin and writes load.Report lines to stdout. When
// stdin ends (the coordinator is gone) it stops.
func runWorker(ctx context.Context) error {
	dec := json.NewDecoder(os.Stdin)
	var cfg load.WorkerConfig
	if err := dec.Decode(&cfg); err != nil {
		return fmt.Errorf("reading the worker config: %w", err)
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmds := make(chan load.Command)
	// The command reader owns dec from here on; it closes cmds at the end of
	// stdin and cancels the run, since nobody can tell the worker to go on.
	go func() {
		defer close(cmds)
		for {
			var c load.Command
			if err := dec.Decode(&c); err != nil {
				cancel()
				return
			}
			select {
			case cmds <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	enc := json.NewEncoder(os.Stdout)
	return load.RunWorker(ctx, cfg, cmds, func(r load.Report) error { return enc.Encode(r) })
}
