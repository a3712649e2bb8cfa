package load

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestPlanPlacement(t *testing.T) {
	tests := []struct {
		name string
		plan Plan
	}{
		{"rooms divide conns", Plan{Conns: 100, Rooms: 10, Senders: 2, Users: 7, Workers: 3}},
		{"uneven rooms", Plan{Conns: 103, Rooms: 10, Senders: 1, Users: 50, Workers: 4}},
		{"no rooms", Plan{Conns: 50, Users: 5, Workers: 2}},
		{"one worker", Plan{Conns: 20, Rooms: 2, Senders: 1, Users: 10, Workers: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.plan
			members := map[int]int{}
			users := map[int]map[int]bool{}
			workers := map[int]map[int]bool{}
			senders := map[int]int{}
			for i := range p.Conns {
				r := p.Room(i)
				members[r]++
				if users[r] == nil {
					users[r], workers[r] = map[int]bool{}, map[int]bool{}
				}
				users[r][p.User(i)] = true
				workers[r][p.Worker(i)] = true
				if p.IsSender(i) {
					senders[r]++
				}
				if w := p.Worker(i); w < 0 || w >= max(p.Workers, 1) {
					t.Fatalf("connection %d in worker %d", i, w)
				}
			}
			total := 0
			for r := range p.rooms() {
				total += p.MembersOf(r)
				if p.MembersOf(r) != members[r] {
					t.Errorf("room %d: MembersOf %d, placed %d", r, p.MembersOf(r), members[r])
				}
				if want := min(members[r], p.Users); len(users[r]) != want {
					t.Errorf("room %d has %d distinct users, want %d", r, len(users[r]), want)
				}
				if want := min(members[r], max(p.Workers, 1)); len(workers[r]) != want {
					t.Errorf("room %d spans %d workers, want %d", r, len(workers[r]), want)
				}
				if senders[r] != min(p.Senders, members[r]) {
					t.Errorf("room %d has %d senders, want %d", r, senders[r], p.Senders)
				}
			}
			if total != p.Conns {
				t.Errorf("rooms hold %d connections, want %d", total, p.Conns)
			}
		})
	}
}

func TestExpectations(t *testing.T) {
	ready := []Report{
		{RoomMembers: map[int]int{0: 3, 1: 2}},
		{RoomMembers: map[int]int{0: 2, 1: 3}},
		{RoomMembers: map[int]int{}},
	}
	sent := []Report{
		{SentOK: map[int]int64{0: 10}},
		{SentOK: map[int]int64{1: 4}},
		{SentOK: map[int]int64{0: 1}},
	}
	got := Expectations(ready, sent)
	want := []int64{3*11 + 2*4, 2*11 + 3*4, 0}
	for w := range want {
		if got[w] != want[w] {
			t.Errorf("worker %d expects %d, want %d", w, got[w], want[w])
		}
	}
}

func TestAbsorbAndProblems(t *testing.T) {
	var h1, h2 Histogram
	h1.Record(1000)
	h2.Record(3000)
	tests := []struct {
		name     string
		scenario string
		reports  []Report
		expected int64
		want     []string // substrings, one per problem; nil for a clean run
	}{
		{"clean fanout", ScenarioFanout, []Report{
			{Connected: 10, Deliveries: 60, Latency: h1.Snapshot(), Start: 100, End: 900},
			{Connected: 10, Deliveries: 40, Latency: h2.Snapshot(), Start: 50, End: 700},
		}, 100, nil},
		{"loss and duplicates", ScenarioFanout, []Report{
			{Connected: 20, Deliveries: 90, Duplicates: 2, Start: 1, End: 2},
		}, 100, []string{"10 deliveries lost", "2 deliveries duplicated"}},
		{"nothing delivered", ScenarioFanout, []Report{{Connected: 20}}, 0, []string{"no delivery"}},
		{"errors and a dropped connection", ScenarioFanout, []Report{
			{Connected: 19, Deliveries: 100, Dropped: 1, Errors: 1, FirstError: "boom"},
		}, 100, []string{"1 errors (first: boom)", "19 of 20 connections", "1 connections closed"}},
		{"idle with a dead connection", ScenarioIdle, []Report{{Connected: 20, Alive: 19}}, 0,
			[]string{"19 of 20 connections answered"}},
		{"connect short of clients", ScenarioConnect, []Report{{Connected: 20, Sessions: 18}}, 0,
			[]string{"18 of 20 clients"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewResult(tt.scenario, TargetPlain, 20)
			r.Expected = tt.expected
			var h Histogram
			var start, end int64
			for _, rep := range tt.reports {
				r.Absorb(rep, &h, &start, &end)
			}
			r.Lost = max(r.Expected-r.Deliveries, 0)
			r.SetLatency(&h)
			if tt.name == "clean fanout" {
				if start != 50 || end != 900 {
					t.Errorf("window [%d, %d], want [50, 900]", start, end)
				}
				if r.P50 < 0.99 || r.P50 > 1.01 || r.P99 < 2.97 || r.P99 > 3.03 {
					t.Errorf("p50 %v ms, p99 %v ms; want about 1 and 3", r.P50, r.P99)
				}
			}
			got := r.Problems()
			if len(got) != len(tt.want) {
				t.Fatalf("problems %q, want %d matching %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to mention %q", i, got[i], w)
				}
			}
		})
	}
}

func TestResultJSONKeepsNotMeasured(t *testing.T) {
	r := NewResult(ScenarioFanout, TargetParley, 20)
	r.Deliveries, r.P99 = 7, 2.5
	r.Steps = []Result{NewResult(ScenarioFanout, TargetParley, 20)}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"cpu_per_100k":null`) {
		t.Errorf("NaN not encoded as null: %s", b)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Deliveries != 7 || back.P99 != 2.5 || back.Scenario != ScenarioFanout {
		t.Errorf("round trip lost values: %+v", back)
	}
	if !math.IsNaN(back.CPUPer100k) || !math.IsNaN(back.Steps[0].RSSAfter) {
		t.Errorf("null did not come back as NaN: %v, %v", back.CPUPer100k, back.Steps[0].RSSAfter)
	}
}
