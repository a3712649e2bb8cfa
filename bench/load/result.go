package load

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
)

// Result is what one scenario run measured, over all worker processes.
// Fields a scenario does not measure stay zero; values that could not be
// measured are NaN.
type Result struct {
	Scenario   string  `json:"scenario"`
	Target     string  `json:"target"`
	Conns      int     `json:"conns"` // planned connections or clients
	Rooms      int     `json:"rooms,omitempty"`
	Members    int     `json:"members,omitempty"`
	Rate       float64 `json:"rate,omitempty"` // fanout: messages per second asked for
	Connected  int     `json:"connected"`
	Alive      int     `json:"alive,omitempty"`
	Dropped    int     `json:"dropped"`
	Sent       int64   `json:"sent,omitempty"`
	SendErrors int64   `json:"send_errors,omitempty"`
	Unacked    int64   `json:"unacked,omitempty"`
	Expected   int64   `json:"expected,omitempty"`
	Deliveries int64   `json:"deliveries,omitempty"`
	Lost       int64   `json:"lost,omitempty"`
	Duplicates int64   `json:"duplicates,omitempty"`
	Misrouted  int64   `json:"misrouted,omitempty"`
	Foreign    int64   `json:"foreign,omitempty"`
	PerSec     float64 `json:"per_sec"` // deliveries (fanout) or sessions (connect) per second
	P50        float64 `json:"p50_ms"`
	P99        float64 `json:"p99_ms"`
	P999       float64 `json:"p999_ms"`
	Sessions   int     `json:"sessions,omitempty"`
	RSSBefore  float64 `json:"rss_before"` // bytes
	RSSAfter   float64 `json:"rss_after"`  // bytes
	PerConn    float64 `json:"bytes_per_conn"`
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUPer100k float64 `json:"cpu_per_100k"`
	// CPUPerSession is the server's CPU time per session of a connect
	// storm, in microseconds: how many sessions one of its cores could take
	// a second, whichever side of the loop sets the pace.
	CPUPerSession float64  `json:"cpu_us_per_session"`
	Seconds       float64  `json:"seconds"` // the measured window
	MaxRate       float64  `json:"max_rate,omitempty"`
	Steps         []Result `json:"steps,omitempty"` // ramp: one fanout run per step
	Errors        int      `json:"errors"`
	FirstError    string   `json:"first_error,omitempty"`
}

// NewResult returns an empty result with the server measurements unknown.
func NewResult(scenario, target string, conns int) Result {
	nan := math.NaN()
	return Result{Scenario: scenario, Target: target, Conns: conns,
		RSSBefore: nan, RSSAfter: nan, PerConn: nan, CPUSeconds: nan, CPUPer100k: nan, CPUPerSession: nan}
}

// Expectations returns, for each worker, how many deliveries its members
// should see: every member of a room gets every message of that room the
// server accepted. ready and sent are the workers' ready and sent reports,
// in worker order.
func Expectations(ready, sent []Report) []int64 {
	perRoom := map[int]int64{}
	for _, s := range sent {
		for room, n := range s.SentOK {
			perRoom[room] += n
		}
	}
	out := make([]int64, len(ready))
	for w, r := range ready {
		for room, members := range r.RoomMembers {
			out[w] += int64(members) * perRoom[room]
		}
	}
	return out
}

// Absorb adds one worker's final report to r, merging its latency samples
// into h, and widens the window [start, end] (unix ns) to cover it.
func (r *Result) Absorb(rep Report, h *Histogram, start, end *int64) {
	r.Connected += rep.Connected
	r.Alive += rep.Alive
	r.Dropped += rep.Dropped
	r.Deliveries += rep.Deliveries
	r.Duplicates += rep.Duplicates
	r.Misrouted += rep.Misrouted
	r.Foreign += rep.Foreign
	r.Sessions += rep.Sessions
	r.Errors += rep.Errors
	if r.FirstError == "" {
		r.FirstError = rep.FirstError
	}
	h.Merge(rep.Latency)
	if rep.Start > 0 && (*start == 0 || rep.Start < *start) {
		*start = rep.Start
	}
	if rep.End > *end {
		*end = rep.End
	}
}

// SetLatency fills the percentiles, in milliseconds, from h (microseconds).
func (r *Result) SetLatency(h *Histogram) {
	if h.Count() == 0 {
		r.P50, r.P99, r.P999 = math.NaN(), math.NaN(), math.NaN()
		return
	}
	r.P50 = float64(h.Quantile(0.50)) / 1000
	r.P99 = float64(h.Quantile(0.99)) / 1000
	r.P999 = float64(h.Quantile(0.999)) / 1000
}

// Problems lists what makes the run a failure: errors, lost, duplicated or
// misrouted deliveries, missing or dropped connections, no delivery at all.
func (r *Result) Problems() []string {
	var p []string
	add := func(cond bool, format string, a ...any) {
		if cond {
			p = append(p, fmt.Sprintf(format, a...))
		}
	}
	add(r.Errors > 0, "%d errors (first: %s)", r.Errors, r.FirstError)
	add(r.Connected < r.Conns, "%d of %d connections open", r.Connected, r.Conns)
	add(r.Dropped > 0, "%d connections closed by the server", r.Dropped)
	switch r.Scenario {
	case ScenarioIdle:
		add(r.Alive < r.Connected, "%d of %d connections answered at the end", r.Alive, r.Connected)
	case ScenarioFanout:
		add(r.Lost > 0, "%d deliveries lost", r.Lost)
		add(r.Deliveries > r.Expected, "%d deliveries more than expected", r.Deliveries-r.Expected)
		add(r.Duplicates > 0, "%d deliveries duplicated", r.Duplicates)
		add(r.Misrouted > 0, "%d deliveries to the wrong room", r.Misrouted)
		add(r.Unacked > 0, "%d messages never acknowledged", r.Unacked)
		add(r.Deliveries == 0, "no delivery happened")
	case ScenarioConnect:
		add(r.Sessions < r.Conns, "%d of %d clients reached room_joined", r.Sessions, r.Conns)
	}
	return p
}

// MarshalJSON encodes r with every NaN or infinite number (a value not
// measured) as null.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result // without the methods, so that encoding does not recurse
	v := reflect.ValueOf(plain(r))
	t := v.Type()
	m := make(map[string]any, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		f := v.Field(i)
		if f.Kind() == reflect.Float64 && (math.IsNaN(f.Float()) || math.IsInf(f.Float(), 0)) {
			m[name] = nil
			continue
		}
		m[name] = f.Interface()
	}
	return json.Marshal(m)
}

// UnmarshalJSON decodes what MarshalJSON wrote; null and absent numbers
// become NaN.
func (r *Result) UnmarshalJSON(b []byte) error {
	type plain Result
	var p plain
	v := reflect.ValueOf(&p).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Float64 {
			f.SetFloat(math.NaN())
		}
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = Result(p)
	return nil
}
