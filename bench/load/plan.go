package load

import (
	"strconv"
	"time"
)

// Scenario names.
const (
	ScenarioIdle    = "idle"
	ScenarioFanout  = "fanout"
	ScenarioConnect = "connect"
)

// Target names: the Parley server, or the plain comparison server that has
// no accounts and takes a bare upgrade.
const (
	TargetParley = "parley"
	TargetPlain  = "plain"
)

// Plan places connections: connection i is member Member(i) of room Room(i),
// logs in as user User(i) and lives in worker process Worker(i). Members of a
// room are spread over the workers, so deliveries cross process boundaries.
type Plan struct {
	Conns   int // connections in total
	Rooms   int // rooms; 0 keeps every connection in "general"
	Senders int // senders per room (fanout), the room's first members
	Users   int // accounts the connections share
	Workers int // worker processes
}

// rooms returns the number of rooms used for placement, at least one.
func (p Plan) rooms() int { return max(p.Rooms, 1) }

// Room returns the room index of connection i.
func (p Plan) Room(i int) int { return i % p.rooms() }

// Member returns the position of connection i within its room.
func (p Plan) Member(i int) int { return i / p.rooms() }

// User returns the user index of connection i: members of one room get
// distinct users as long as there are enough users.
func (p Plan) User(i int) int { return (p.Member(i) + p.Room(i)) % max(p.Users, 1) }

// Worker returns the worker process that holds connection i.
func (p Plan) Worker(i int) int { return p.Member(i) % max(p.Workers, 1) }

// IsSender reports whether connection i publishes in the fanout scenario.
func (p Plan) IsSender(i int) bool { return p.Member(i) < p.Senders }

// RoomName returns the name of connection i's room.
func (p Plan) RoomName(i int) string {
	if p.Rooms == 0 {
		return "general"
	}
	return "load-" + strconv.Itoa(p.Room(i))
}

// MembersOf returns how many connections the plan puts in room r.
func (p Plan) MembersOf(r int) int {
	n := p.Conns / p.rooms()
	if r < p.Conns%p.rooms() {
		n++
	}
	return n
}

// Session is a logged-in Parley user: the value of its parley_session cookie.
type Session struct {
	User   string `json:"user"`
	Cookie string `json:"cookie"`
}

// WorkerConfig is the first line a worker process reads on its stdin.
type WorkerConfig struct {
	Scenario    string        `json:"scenario"`
	Target      string        `json:"target"`
	BaseURL     string        `json:"base_url"`
	SourceIP    string        `json:"source_ip"`
	Worker      int           `json:"worker"`
	Plan        Plan          `json:"plan"`
	Sessions    []Session     `json:"sessions"`
	Rate        float64       `json:"rate"` // fanout: messages per second, all senders together
	Size        int           `json:"size"` // fanout: characters per message
	Duration    time.Duration `json:"duration"`
	Drain       time.Duration `json:"drain"`
	Concurrency int           `json:"concurrency"` // dials in flight at once in this worker
	Deadline    time.Time     `json:"deadline"`    // the worker gives up at this time
	// CPUProfile, when set, is where the worker writes a CPU profile of
	// its whole run.
	CPUProfile string `json:"cpu_profile,omitempty"`
}

// Command is what the coordinator writes to a worker after the config.
type Command struct {
	Cmd    string `json:"cmd"`              // "go" or "drain"
	Expect int64  `json:"expect,omitempty"` // drain: deliveries this worker should see
}

// Report phases.
const (
	PhaseReady = "ready"
	PhaseSent  = "sent"
	PhaseDone  = "done"
)

// Report is what a worker writes to its stdout, one JSON line per phase.
type Report struct {
	Phase       string        `json:"phase"`
	Connected   int           `json:"connected"`
	RoomMembers map[int]int   `json:"room_members,omitempty"` // ready: connected members per room
	SentOK      map[int]int64 `json:"sent_ok,omitempty"`      // sent: messages per room the server took
	Sent        int64         `json:"sent"`
	SendErrors  int64         `json:"send_errors"`
	Unacked     int64         `json:"unacked"`
	Deliveries  int64         `json:"deliveries"`
	Duplicates  int64         `json:"duplicates"`
	Misrouted   int64         `json:"misrouted"`
	Foreign     int64         `json:"foreign"`
	Dropped     int           `json:"dropped"` // connections the server closed
	Alive       int           `json:"alive"`   // idle: connections that answered at the end
	Sessions    int           `json:"sessions"`
	Latency     HistData      `json:"latency,omitempty"`
	Start       int64         `json:"start"` // unix ns: first send, or start of the storm
	End         int64         `json:"end"`   // unix ns: last delivery, or end of the storm
	Errors      int           `json:"errors"`
	FirstError  string        `json:"first_error,omitempty"`
}
