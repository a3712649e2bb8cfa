package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"github.com/parley-chat/parley/bench/load"
)

// scenarioArgs gives the parleyload arguments of each scenario.
var scenarioArgs = map[string]func(c config) []string{
	"idle": func(c config) []string {
		return []string{"-scenario", "idle", "-conns", strconv.Itoa(c.idleConns), "-duration", c.idleHold.String()}
	},
	"fanout": func(c config) []string {
		return []string{"-scenario", "fanout", "-rooms", strconv.Itoa(c.rooms), "-members", strconv.Itoa(c.members),
			"-rate", fmt.Sprint(c.rate), "-duration", c.duration.String()}
	},
	"connect": func(c config) []string {
		return []string{"-scenario", "connect", "-conns", strconv.Itoa(c.connectClients)}
	},
	"ramp": func(c config) []string {
		return []string{"-scenario", "fanout", "-ramp", "-rooms", strconv.Itoa(c.rooms), "-members", strconv.Itoa(c.members),
			"-rate", fmt.Sprint(c.rampStart), "-ramp-steps", strconv.Itoa(c.rampSteps), "-duration", c.rampDuration.String()}
	},
}

// metric is one number of the comparison table.
type metric struct {
	name string
	prec int
	get  func(load.Result) float64
}

// metrics lists what the table shows for each scenario.
var metrics = map[string][]metric{
	"idle": {
		{"server memory per connection, KiB", 1, func(r load.Result) float64 { return r.PerConn / 1024 }},
		{"server RSS with all connected, MiB", 0, func(r load.Result) float64 { return r.RSSAfter / (1 << 20) }},
		{"connections alive at the end", 0, func(r load.Result) float64 { return float64(r.Alive) }},
	},
	"fanout": {
		{"deliveries per second", 0, func(r load.Result) float64 { return r.PerSec }},
		{"latency p50, ms", 2, func(r load.Result) float64 { return r.P50 }},
		{"latency p99, ms", 2, func(r load.Result) float64 { return r.P99 }},
		{"latency p999, ms", 2, func(r load.Result) float64 { return r.P999 }},
		{"server CPU s per 100k deliveries", 2, func(r load.Result) float64 { return r.CPUPer100k }},
		{"lost + duplicated deliveries", 0, func(r load.Result) float64 { return float64(r.Lost + r.Duplicates) }},
	},
	"connect": {
		{"sessions per second", 0, func(r load.Result) float64 { return r.PerSec }},
		{"time to room_joined p50, ms", 2, func(r load.Result) float64 { return r.P50 }},
		{"time to room_joined p99, ms", 2, func(r load.Result) float64 { return r.P99 }},
		{"server CPU per session, µs", 0, func(r load.Result) float64 { return r.CPUPerSession }},
	},
	"ramp": {
		{"highest rate with p99 < 100 ms and no loss, msg/s", 0, func(r load.Result) float64 { return r.MaxRate }},
		{"deliveries per second at that rate", 0, func(r load.Result) float64 { return r.PerSec }},
		{"latency p99 at that rate, ms", 2, func(r load.Result) float64 { return r.P99 }},
	},
}

// outcome is one load run.
type outcome struct {
	res load.Result
	ok  bool
}

// compare runs every scenario c.runs times on every target, alternating the
// targets within each round, and prints the table. ok is false when a run
// failed its checks.
func compare(ctx context.Context, c config, w io.Writer) (ok bool, err error) {
	dataDirs := map[string]string{}
	for _, t := range c.targets {
		d, err := os.MkdirTemp("", "parley-bench-"+t+"-")
		if err != nil {
			return false, err
		}
		defer os.RemoveAll(d)
		dataDirs[t] = d
	}
	results := map[string]map[string][]outcome{} // scenario -> target -> runs
	ok = true
	for _, sc := range c.scenarios {
		results[sc] = map[string][]outcome{}
		for run := 1; run <= c.runs; run++ {
			for _, t := range c.targets {
				slog.Info("run", "scenario", sc, "server", t, "run", run, "of", c.runs)
				o, err := runOne(ctx, c, sc, t, dataDirs[t])
				if err != nil {
					return false, fmt.Errorf("%s on %s, run %d: %w", sc, t, run, err)
				}
				if !o.ok {
					ok = false
					slog.Warn("run failed its checks", "scenario", sc, "server", t, "run", run)
				}
				results[sc][t] = append(results[sc][t], o)
			}
		}
	}
	printReport(w, c, results)
	return ok, nil
}

// runOne starts a fresh server, runs one load scenario against it and stops it.
func runOne(ctx context.Context, c config, scenario, target, dataDir string) (outcome, error) {
	srv, err := startServer(ctx, c, target, dataDir)
	if err != nil {
		return outcome{}, err
	}
	defer srv.stop()
	args := append(scenarioArgs[scenario](c),
		"-target", target, "-url", srv.url, "-server-pid", strconv.Itoa(srv.pid()),
		"-users", strconv.Itoa(c.users), "-timeout", c.runTimeout.String(), "-json")
	if target == "parley" {
		args = append(args, "-sessions", dataDir+"/sessions.json")
	}
	name := c.loadBin
	if c.loadCPU != "" {
		args = append([]string{"-c", c.loadCPU, name}, args...)
		name = "taskset"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	runErr := cmd.Run()
	var exit *exec.ExitError
	if runErr != nil && !(errors.As(runErr, &exit) && exit.ExitCode() == 1) {
		return outcome{}, fmt.Errorf("parleyload: %w", runErr)
	}
	res, err := lastResult(out.Bytes())
	if err != nil {
		return outcome{}, fmt.Errorf("parleyload printed no result (exit: %v): %w", runErr, err)
	}
	return outcome{res: res, ok: runErr == nil}, nil
}

// lastResult decodes the last non-empty line of parleyload -json output.
func lastResult(b []byte) (load.Result, error) {
	var last []byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			last = append(last[:0], line...)
		}
	}
	var r load.Result
	if last == nil {
		return r, errors.New("empty output")
	}
	return r, json.Unmarshal(last, &r)
}

// cell formats a summary as "median (min–max)".
func cell(s load.Summary, prec int) string {
	if s.N == 0 {
		return "-"
	}
	if s.N == 1 || s.Min == s.Max {
		return strconv.FormatFloat(s.Median, 'f', prec, 64)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	return f(s.Median) + " (" + f(s.Min) + "–" + f(s.Max) + ")"
}

// printReport writes the machine, the settings and the Markdown table.
func printReport(w io.Writer, c config, results map[string]map[string][]outcome) {
	fmt.Fprintf(w, "\nmachine: %s, %d CPUs; %s; server on CPU %q with GOMAXPROCS=1, load on CPU %q; %d runs each\n",
		cpuModel(), runtime.NumCPU(), runtime.Version(), c.serverCPU, c.loadCPU, c.runs)
	fmt.Fprintf(w, "idle: %d connections; fanout: %d rooms × %d members at %.0f msg/s for %s; connect: %d clients; ramp: from %.0f msg/s, %s per step\n\n",
		c.idleConns, c.rooms, c.members, c.rate, c.duration, c.connectClients, c.rampStart, c.rampDuration)
	fmt.Fprint(w, "| scenario | metric |")
	for _, t := range c.targets {
		fmt.Fprintf(w, " %s: median (min–max) |", t)
	}
	fmt.Fprint(w, "\n| --- | --- |")
	for range c.targets {
		fmt.Fprint(w, " ---: |")
	}
	fmt.Fprintln(w)
	for _, sc := range c.scenarios {
		for _, m := range metrics[sc] {
			fmt.Fprintf(w, "| %s | %s |", sc, m.name)
			for _, t := range c.targets {
				var vals []float64
				for _, o := range results[sc][t] {
					vals = append(vals, m.get(o.res))
				}
				fmt.Fprintf(w, " %s |", cell(load.Summarize(vals), m.prec))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "| %s | runs that failed a check |", sc)
		for _, t := range c.targets {
			n := 0
			for _, o := range results[sc][t] {
				if !o.ok {
					n++
				}
			}
			fmt.Fprintf(w, " %d of %d |", n, len(results[sc][t]))
		}
		fmt.Fprintln(w)
	}
}

// cpuModel returns the CPU model name from /proc/cpuinfo, if it can.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
