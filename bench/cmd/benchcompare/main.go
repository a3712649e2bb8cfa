// Command benchcompare runs the Parley server and the plain comparison
// server side by side through the same load scenarios: each run starts a
// fresh server pinned to one core with GOMAXPROCS=1, runs parleyload pinned
// to another core, and stops the server by its PID. It prints, per scenario
// and metric, the median of the runs with their minimum and maximum, and
// exits non-zero when any run saw loss, duplicates or errors.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// config holds the command-line settings.
type config struct {
	parleyBin, plainBin, loadBin string
	parleyArgs                   string // extra flags for Parley, space-separated
	targets, scenarios           []string
	runs                         int
	serverCPU, loadCPU           string
	users                        int
	idleConns                    int
	idleHold                     time.Duration
	rooms, members               int
	rate                         float64
	duration                     time.Duration
	connectClients               int
	rampStart                    float64
	rampSteps                    int
	rampDuration                 time.Duration
	runTimeout                   time.Duration
	timeout                      time.Duration
	serverLogs                   bool
}

func main() {
	var c config
	var targets, scenarios string
	flag.StringVar(&c.parleyBin, "parley", "bin/parley", "Parley server binary")
	flag.StringVar(&c.parleyArgs, "parley-args", "", "extra flags for Parley, space-separated (e.g. \"-pprof 127.0.0.1:6060\")")
	flag.StringVar(&c.plainBin, "plain", "bin/plainchat", "comparison server binary")
	flag.StringVar(&c.loadBin, "load", "bin/parleyload", "load tool binary")
	flag.StringVar(&targets, "targets", "parley,plain", "servers to measure, in order")
	flag.StringVar(&scenarios, "scenarios", "idle,fanout,connect,ramp", "scenarios to run (ramp is fanout -ramp)")
	flag.IntVar(&c.runs, "runs", 3, "runs per scenario and server")
	flag.StringVar(&c.serverCPU, "server-cpu", "0", "taskset CPU list of the server; empty: no pinning")
	flag.StringVar(&c.loadCPU, "load-cpu", "1", "taskset CPU list of the load tool; empty: no pinning")
	flag.IntVar(&c.users, "users", 100, "Parley accounts the connections share")
	flag.IntVar(&c.idleConns, "idle-conns", 16000, "idle: connections")
	flag.DurationVar(&c.idleHold, "idle-hold", 5*time.Second, "idle: hold time")
	flag.IntVar(&c.rooms, "rooms", 100, "fanout and ramp: rooms")
	flag.IntVar(&c.members, "members", 10, "fanout and ramp: members per room")
	flag.Float64Var(&c.rate, "rate", 2000, "fanout: messages per second")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "fanout: send time")
	flag.IntVar(&c.connectClients, "connect-clients", 5000, "connect: clients in the storm")
	flag.Float64Var(&c.rampStart, "ramp-start", 1000, "ramp: first rate")
	flag.IntVar(&c.rampSteps, "ramp-steps", 7, "ramp: most steps")
	flag.DurationVar(&c.rampDuration, "ramp-duration", 5*time.Second, "ramp: send time per step")
	flag.DurationVar(&c.runTimeout, "run-timeout", 5*time.Minute, "hard deadline of one load run")
	flag.DurationVar(&c.timeout, "timeout", 60*time.Minute, "hard deadline of the whole comparison")
	flag.BoolVar(&c.serverLogs, "server-logs", false, "pass the servers' logs through to stderr")
	flag.Parse()
	c.targets = splitList(targets)
	c.scenarios = splitList(scenarios)
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err := c.check(); err != nil {
		fmt.Fprintln(os.Stderr, "benchcompare:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ok, err := compare(ctx, c, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcompare:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

// splitList splits a comma-separated flag value.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// check validates the settings.
func (c *config) check() error {
	for _, t := range c.targets {
		if t != "parley" && t != "plain" {
			return fmt.Errorf("-targets: unknown server %q", t)
		}
	}
	for _, s := range c.scenarios {
		if _, ok := scenarioArgs[s]; !ok {
			return fmt.Errorf("-scenarios: unknown scenario %q", s)
		}
	}
	if c.runs < 1 || len(c.targets) == 0 || len(c.scenarios) == 0 {
		return fmt.Errorf("need at least one run, server and scenario")
	}
	for _, bin := range []string{c.loadBin, c.binary("parley"), c.binary("plain")} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%w (build it first, or run bench/compare.sh)", err)
		}
	}
	return nil
}

// binary returns the server binary of target.
func (c *config) binary(target string) string {
	if target == "parley" {
		return c.parleyBin
	}
	return c.plainBin
}
