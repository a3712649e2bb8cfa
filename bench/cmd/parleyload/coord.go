package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/parley-chat/parley/bench/load"
)

// run performs the scenario of o and prints its result; ok is false when the
// run saw loss, duplicates or errors.
func run(ctx context.Context, o options) (ok bool, err error) {
	users := min(o.users, o.conns)
	ss, err := sessions(ctx, o, users)
	if err != nil {
		return false, err
	}
	if o.scenario == load.ScenarioConnect && o.target == load.TargetParley {
		cfg := load.DialConfig{Target: o.target, BaseURL: o.url, Timeout: 10 * time.Second}
		if err := load.SeedHistory(ctx, cfg, ss[0], o.history); err != nil {
			return false, err
		}
	}
	probe := load.Probe{PID: o.serverPID, MetricsURL: o.metricsURL}
	var res load.Result
	if o.ramp {
		res, err = ramp(ctx, o, ss, probe)
	} else {
		res, err = runOnce(ctx, o, o.rate, ss, probe)
	}
	if err != nil {
		return false, err
	}
	problems := res.Problems()
	if o.ramp {
		problems = rampProblems(res)
	}
	if o.json {
		printJSON(os.Stdout, res)
	} else {
		printTable(os.Stdout, res)
	}
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, "parleyload: FAIL:", p)
	}
	return len(problems) == 0, nil
}

// workerConfigs splits the plan over worker processes.
func workerConfigs(o options, rate float64, ss []load.Session) []load.WorkerConfig {
	workers := o.workers
	if workers <= 0 {
		workers = (o.conns + o.perWorker - 1) / o.perWorker
	}
	// A room's members are spread over the workers, so at most one worker
	// per member is useful.
	if o.scenario == load.ScenarioFanout {
		workers = min(workers, o.members)
	}
	workers = max(1, min(workers, o.conns))
	plan := load.Plan{Conns: o.conns, Rooms: o.rooms, Senders: o.senders, Users: len(ss), Workers: workers}
	if o.scenario != load.ScenarioFanout {
		plan.Senders = 0
	}
	deadline := startTime.Add(o.timeout)
	cfgs := make([]load.WorkerConfig, workers)
	for w := range cfgs {
		src := ""
		if o.sourceNet != "" {
			src = o.sourceNet + strconv.Itoa(w+1)
		}
		cfgs[w] = load.WorkerConfig{
			Scenario: o.scenario, Target: o.target, BaseURL: o.url, SourceIP: src,
			Worker: w, Plan: plan, Sessions: ss, Rate: rate, Size: o.size,
			Duration: o.duration, Drain: o.drain, Concurrency: o.concurrency, Deadline: deadline,
		}
		if o.cpuProfile != "" {
			cfgs[w].CPUProfile = fmt.Sprintf("%s.%d", o.cpuProfile, w)
		}
	}
	return cfgs
}

// startTime is when this invocation began; the hard deadline counts from it.
var startTime = time.Now()

// sample reads the probe, or returns NaNs when it cannot.
func sample(ctx context.Context, p load.Probe) (rss, cpu float64) {
	if !p.Enabled() {
		return math.NaN(), math.NaN()
	}
	s, err := p.Read(ctx)
	if err != nil {
		slog.Warn("cannot read the server's memory and CPU", "err", err)
		return math.NaN(), math.NaN()
	}
	return float64(s.RSS), s.CPU
}

// runOnce runs the scenario once with fresh worker processes.
func runOnce(ctx context.Context, o options, rate float64, ss []load.Session, probe load.Probe) (load.Result, error) {
	res := load.NewResult(o.scenario, o.target, o.conns)
	cfgs := workerConfigs(o, rate, ss)
	if len(cfgs) == 0 {
		return res, errNoWorkers
	}
	if o.scenario == load.ScenarioFanout {
		res.Rooms, res.Members, res.Rate = o.rooms, o.members, rate
	}
	res.RSSBefore, _ = sample(ctx, probe)
	procs, err := startWorkers(cfgs)
	if err != nil {
		return res, err
	}
	defer stopWorkers(procs)

	ready, err := collect(ctx, procs, load.PhaseReady)
	if err != nil {
		return res, err
	}
	if o.scenario == load.ScenarioIdle {
		res.RSSAfter, _ = sample(ctx, probe)
		res.PerConn = (res.RSSAfter - res.RSSBefore) / float64(max(sumConnected(ready), 1))
	}
	_, cpu0 := sample(ctx, probe)
	if err := send(procs, "go", nil); err != nil {
		return res, err
	}
	if o.scenario == load.ScenarioFanout {
		sent, err := collect(ctx, procs, load.PhaseSent)
		if err != nil {
			return res, err
		}
		for _, s := range sent {
			res.Sent += s.Sent
			res.SendErrors += s.SendErrors
			res.Unacked += s.Unacked
		}
		expect := load.Expectations(ready, sent)
		for _, e := range expect {
			res.Expected += e
		}
		if err := send(procs, "drain", expect); err != nil {
			return res, err
		}
	}
	done, err := collect(ctx, procs, load.PhaseDone)
	if err != nil {
		return res, err
	}
	_, cpu1 := sample(ctx, probe)
	res.CPUSeconds = cpu1 - cpu0

	var h load.Histogram
	var start, end int64
	for w, r := range done {
		// Set-up errors were reported when ready; the done report has the rest.
		r.Errors += ready[w].Errors
		if r.FirstError == "" {
			r.FirstError = ready[w].FirstError
		}
		res.Absorb(r, &h, &start, &end)
	}
	res.SetLatency(&h)
	if end > start {
		res.Seconds = float64(end-start) / 1e9
	}
	switch o.scenario {
	case load.ScenarioFanout:
		res.Lost = max(res.Expected-res.Deliveries, 0)
		if res.Seconds > 0 {
			res.PerSec = float64(res.Deliveries) / res.Seconds
		}
		if res.Deliveries > 0 {
			res.CPUPer100k = res.CPUSeconds / float64(res.Deliveries) * 1e5
		}
	case load.ScenarioConnect:
		if res.Seconds > 0 {
			res.PerSec = float64(res.Sessions) / res.Seconds
		}
		if res.Sessions > 0 {
			res.CPUPerSession = res.CPUSeconds / float64(res.Sessions) * 1e6
		}
	case load.ScenarioIdle:
		res.Seconds = o.duration.Seconds()
	}
	return res, nil
}

// sumConnected adds up the connections the workers opened.
func sumConnected(rs []load.Report) int {
	n := 0
	for _, r := range rs {
		n += r.Connected
	}
	return n
}
