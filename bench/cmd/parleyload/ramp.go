package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/parley-chat/parley/bench/load"
)

// passes reports whether a fanout step met the ramp's bar: no problem at
// all (nothing lost, no error) and p99 under the bound.
func passes(r load.Result, o options) bool {
	return len(r.Problems()) == 0 && r.P99 < float64(o.rampP99.Microseconds())/1000
}

// ramp searches the highest fanout rate that passes: it doubles the rate
// from -rate until a step fails, then bisects between the last passing and
// the first failing rate until they are within 10% or the steps run out.
func ramp(ctx context.Context, o options, ss []load.Session, probe load.Probe) (load.Result, error) {
	out := load.NewResult(load.ScenarioFanout, o.target, o.conns)
	out.Rooms, out.Members = o.rooms, o.members
	rate, good, bad := o.rate, 0.0, 0.0
	for step := 0; step < o.rampSteps; step++ {
		r, err := runOnce(ctx, o, rate, ss, probe)
		if err != nil {
			return out, fmt.Errorf("ramp step at %.0f msg/s: %w", rate, err)
		}
		out.Steps = append(out.Steps, r)
		ok := passes(r, o)
		slog.Info("ramp step", "rate", rate, "p99_ms", r.P99, "lost", r.Lost, "pass", ok)
		if ok {
			good = rate
			if bad == 0 {
				rate *= 2
			} else {
				rate = (good + bad) / 2
			}
		} else {
			bad = rate
			rate = (good + bad) / 2
			if good == 0 {
				rate = bad / 2
			}
		}
		if bad > 0 && good > 0 && (bad-good)/bad < 0.1 {
			break
		}
		if rate < 1 {
			break
		}
	}
	out.MaxRate = good
	for _, s := range out.Steps {
		if s.Rate == good {
			out.Rate, out.Deliveries, out.PerSec = s.Rate, s.Deliveries, s.PerSec
			out.P50, out.P99, out.P999, out.CPUPer100k = s.P50, s.P99, s.P999, s.CPUPer100k
			out.Connected, out.Expected, out.Sent = s.Connected, s.Expected, s.Sent
		}
		out.Duplicates += s.Duplicates
		out.Misrouted += s.Misrouted
	}
	return out, nil
}

// rampProblems lists what makes a ramp a failure: no passing rate, or a
// correctness fault (duplicate or misrouted delivery) at any step. Loss and
// latency above the bound at the top steps are what the ramp looks for.
func rampProblems(r load.Result) []string {
	var p []string
	if r.MaxRate == 0 {
		p = append(p, "no rate passed")
	}
	if r.Duplicates > 0 {
		p = append(p, fmt.Sprintf("%d deliveries duplicated", r.Duplicates))
	}
	if r.Misrouted > 0 {
		p = append(p, fmt.Sprintf("%d deliveries to the wrong room", r.Misrouted))
	}
	return p
}
