// Command parleyload puts a Parley server (or the plain comparison server)
// under load and prints what it measured. Scenarios:
//
//	idle     N authenticated connections held in rooms; server memory per connection
//	fanout   R rooms of M members, senders at a total rate; deliveries per second,
//	         one-way latency, lost and duplicated deliveries, server CPU per 100k
//	         deliveries; -ramp searches the highest rate with p99 under a bound
//	connect  the reconnect storm: clients with a session get a ticket, upgrade
//	         and wait for room_joined; sessions per second and time to room_joined
//
// Connections are spread over worker processes (the program re-runs itself)
// and over several loopback source addresses, so that one run can hold more
// connections than one process may open files or one address has ports.
// The exit status is 1 when a scenario saw loss, duplicates or errors.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/parley-chat/parley/bench/load"
)

// options are the command-line settings of one invocation.
type options struct {
	scenario    string
	target      string
	url         string
	conns       int
	rooms       int
	members     int
	senders     int
	rate        float64
	size        int
	duration    time.Duration
	drain       time.Duration
	users       int
	userPrefix  string
	password    string
	sessions    string
	perWorker   int
	workers     int
	sourceNet   string
	concurrency int
	history     int
	serverPID   int
	metricsURL  string
	ramp        bool
	rampP99     time.Duration
	rampSteps   int
	timeout     time.Duration
	json        bool
	cpuProfile  string
}

func main() {
	var o options
	worker := flag.Bool("worker", false, "run as a worker process (internal)")
	flag.StringVar(&o.scenario, "scenario", "fanout", "idle, fanout or connect")
	flag.StringVar(&o.target, "target", "parley", "parley, or plain for the comparison server")
	flag.StringVar(&o.url, "url", "http://127.0.0.1:8080", "base URL of the server")
	flag.IntVar(&o.conns, "conns", 1000, "idle: connections; connect: clients")
	flag.IntVar(&o.rooms, "rooms", 0, "rooms (default 100 for idle, 10 for fanout)")
	flag.IntVar(&o.members, "members", 10, "fanout: connections per room")
	flag.IntVar(&o.senders, "senders", 1, "fanout: senders per room, among its members")
	flag.Float64Var(&o.rate, "rate", 1000, "fanout: messages per second, all senders together (the start rate with -ramp)")
	flag.IntVar(&o.size, "size", 64, "fanout: characters per message")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "idle: hold time; fanout: send time (each ramp step)")
	flag.DurationVar(&o.drain, "drain", 5*time.Second, "fanout: longest wait for acks and deliveries after sending")
	flag.IntVar(&o.users, "users", 100, "parley: accounts the connections share")
	flag.StringVar(&o.userPrefix, "user-prefix", "load_", "prefix of the account names")
	flag.StringVar(&o.password, "password", "load-test-password", "password of the load accounts")
	flag.StringVar(&o.sessions, "sessions", "", "file to keep sessions in between runs (reused while they work)")
	flag.IntVar(&o.perWorker, "per-worker", 5000, "most connections per worker process")
	flag.IntVar(&o.workers, "workers", 0, "worker processes (0: from -per-worker)")
	flag.StringVar(&o.sourceNet, "source-net", "127.0.1.", "worker w dials from this prefix plus w+1; empty for the default address")
	flag.IntVar(&o.concurrency, "concurrency", 64, "connection attempts in flight per worker")
	flag.IntVar(&o.history, "history", 50, "connect, parley: messages posted to general before the storm, for room_joined's history")
	flag.IntVar(&o.serverPID, "server-pid", 0, "PID of the server, to read its memory and CPU from /proc")
	flag.StringVar(&o.metricsURL, "metrics-url", "", "Prometheus URL of the server when no PID is given (default <url>/metrics)")
	flag.BoolVar(&o.ramp, "ramp", false, "fanout: search the highest rate with nothing lost and p99 under -ramp-p99")
	flag.DurationVar(&o.rampP99, "ramp-p99", 100*time.Millisecond, "fanout -ramp: latency bound for p99")
	flag.IntVar(&o.rampSteps, "ramp-steps", 8, "fanout -ramp: most steps")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "hard deadline for the whole invocation")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write each worker's CPU profile to this path plus .<worker>")
	flag.BoolVar(&o.json, "json", false, "print the result as one JSON line instead of a table")
	flag.Parse()

	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if _, err := load.RaiseFileLimit(); err != nil {
		slog.Warn("cannot raise the open-file limit", "err", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *worker {
		if err := runWorker(ctx); err != nil {
			slog.Error("worker failed", "err", err)
			os.Exit(1)
		}
		return
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "parleyload:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	ok, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "parleyload:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

// check validates the options and fills scenario defaults.
func (o *options) check() error {
	switch o.target {
	case load.TargetParley, load.TargetPlain:
	default:
		return fmt.Errorf("-target %q: want parley or plain", o.target)
	}
	switch o.scenario {
	case load.ScenarioIdle:
		if o.rooms == 0 {
			o.rooms = 100
		}
	case load.ScenarioFanout:
		if o.rooms == 0 {
			o.rooms = 10
		}
		if o.members < 1 || o.senders < 1 || o.senders > o.members {
			return fmt.Errorf("-members must be at least 1 and -senders between 1 and -members")
		}
		if o.rate <= 0 {
			return fmt.Errorf("-rate must be positive")
		}
		o.conns = o.rooms * o.members
	case load.ScenarioConnect:
		o.rooms = 0
	default:
		return fmt.Errorf("-scenario %q: want idle, fanout or connect", o.scenario)
	}
	if o.conns < 1 || o.users < 1 || o.perWorker < 1 || o.concurrency < 1 {
		return fmt.Errorf("-conns, -users, -per-worker and -concurrency must be positive")
	}
	if o.ramp && o.scenario != load.ScenarioFanout {
		return fmt.Errorf("-ramp needs -scenario fanout")
	}
	if o.metricsURL == "" && o.serverPID == 0 {
		o.metricsURL = o.url + "/metrics"
	}
	return nil
}
