package main

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley/bench/load"
)

// runWorker runs one load worker against s, playing the coordinator: it
// answers "ready" with "go" and "sent" with "drain" and the expectation,
// and checks that a fanout delivered exactly what was expected.
func runWorker(t *testing.T, s *server, cfg load.WorkerConfig) load.Report {
	t.Helper()
	cfg.Target, cfg.BaseURL, cfg.Concurrency = load.TargetPlain, s.srv.URL, 8
	cfg.Deadline = time.Now().Add(time.Minute)
	reports := make(chan load.Report, 4)
	cmds := make(chan load.Command, 2)
	errc := make(chan error, 1)
	go func() {
		errc <- load.RunWorker(context.Background(), cfg, cmds, func(r load.Report) error {
			reports <- r
			return nil
		})
	}()
	var ready load.Report
	expect := int64(-1)
	for {
		select {
		case r := <-reports:
			switch r.Phase {
			case load.PhaseReady:
				ready = r
				cmds <- load.Command{Cmd: "go"}
			case load.PhaseSent:
				expect = load.Expectations([]load.Report{ready}, []load.Report{r})[0]
				if r.Sent == 0 || r.SendErrors != 0 || r.Unacked != 0 {
					t.Errorf("sent report %+v", r)
				}
				cmds <- load.Command{Cmd: "drain", Expect: expect}
			case load.PhaseDone:
				if err := <-errc; err != nil {
					t.Fatalf("worker: %v", err)
				}
				if expect >= 0 && r.Deliveries != expect {
					t.Errorf("%d deliveries, want every member to get every message: %d", r.Deliveries, expect)
				}
				return r
			}
		case err := <-errc:
			t.Fatalf("worker ended early: %v", err)
		}
	}
}

func TestLoadScenariosAgainstPlainchat(t *testing.T) {
	tests := []struct {
		name  string
		cfg   load.WorkerConfig
		check func(t *testing.T, r load.Report)
	}{
		{"fanout 2 rooms of 5", load.WorkerConfig{
			Scenario: load.ScenarioFanout, Plan: load.Plan{Conns: 10, Rooms: 2, Senders: 2, Users: 4, Workers: 1},
			Rate: 400, Size: 64, Duration: 100 * time.Millisecond, Drain: 10 * time.Second,
		}, func(t *testing.T, r load.Report) {
			if r.Deliveries == 0 || r.Duplicates != 0 || r.Misrouted != 0 || r.Errors != 0 || r.Foreign != 0 {
				t.Errorf("fanout report %+v", r)
			}
			var h load.Histogram
			h.Merge(r.Latency)
			if h.Count() != uint64(r.Deliveries) {
				t.Errorf("%d latencies for %d deliveries", h.Count(), r.Deliveries)
			}
		}},
		{"idle in 3 rooms", load.WorkerConfig{
			Scenario: load.ScenarioIdle, Plan: load.Plan{Conns: 12, Rooms: 3, Users: 5, Workers: 1},
			Duration: time.Millisecond,
		}, func(t *testing.T, r load.Report) {
			if r.Connected != 12 || r.Alive != 12 || r.Errors != 0 {
				t.Errorf("idle report %+v", r)
			}
		}},
		{"connect 20 clients", load.WorkerConfig{
			Scenario: load.ScenarioConnect, Plan: load.Plan{Conns: 20, Users: 5, Workers: 1},
		}, func(t *testing.T, r load.Report) {
			if r.Sessions != 20 || r.Errors != 0 || r.End < r.Start {
				t.Errorf("connect report %+v", r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t)
			tt.check(t, runWorker(t, s, tt.cfg))
		})
	}
}
