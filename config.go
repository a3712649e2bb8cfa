package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/parley-chat/parley/middleware"
)

// config is every setting; each is a flag and an environment variable, and
// the flag wins.
type config struct {
	Addr             string
	Data             string
	DatabaseURL      string
	RedisURL         string
	TLSCert, TLSKey  string
	AllowedOrigins   []string
	TicketTTL        time.Duration
	ReadLimit        int64
	PongWait         time.Duration
	WriteWait        time.Duration
	MsgRate          float64
	MsgBurst         int
	LoginRate        int
	Retention        time.Duration
	RetentionPerRoom int
	PprofAddr        string
	LogFormat        string
}

// errHelp reports that -h was asked for: usage was printed, exit 0.
var errHelp = errors.New("help requested")

// parseConfig reads flags (args, without the program name) over environment
// variables (getenv). Errors name the flag or variable at fault.
func parseConfig(args []string, getenv func(string) string, usage io.Writer) (config, error) {
	var cfg config
	var origins string
	fs := flag.NewFlagSet("parley", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by the caller
	fs.StringVar(&cfg.Addr, "addr", ":8080", "listen address")
	fs.StringVar(&cfg.Data, "data", "./data", "folder for the embedded SQLite database")
	fs.StringVar(&cfg.DatabaseURL, "database-url", "", "postgres://… to use PostgreSQL instead of SQLite")
	fs.StringVar(&cfg.RedisURL, "redis-url", "", "redis://… to join a cluster of nodes through Redis")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate: serve HTTPS and WSS")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key for -tls-cert")
	fs.StringVar(&origins, "allowed-origins", "", "comma-separated origins allowed to open /ws (default: the server's own origin)")
	fs.DurationVar(&cfg.TicketTTL, "ticket-ttl", 5*time.Second, "how long a ticket stays valid")
	fs.Int64Var(&cfg.ReadLimit, "read-limit", 4096, "largest WebSocket message accepted, in bytes")
	fs.DurationVar(&cfg.PongWait, "pong-wait", 10*time.Second, "a client silent this long is dropped; pings go at 9/10 of it")
	fs.DurationVar(&cfg.WriteWait, "write-wait", 10*time.Second, "a write to a client that takes longer than this drops the client")
	fs.Float64Var(&cfg.MsgRate, "msg-rate", 10, "events a connection may send per second")
	fs.IntVar(&cfg.MsgBurst, "msg-burst", 20, "events a connection may send in a burst")
	fs.IntVar(&cfg.LoginRate, "login-rate", 10, "/login and /register attempts per minute, per client address and per username")
	fs.DurationVar(&cfg.Retention, "retention", 0, "delete messages older than this (e.g. 720h); 0 keeps them")
	fs.IntVar(&cfg.RetentionPerRoom, "retention-per-room", 0, "keep at most this many messages per room; 0 keeps all")
	fs.StringVar(&cfg.PprofAddr, "pprof", "", "serve net/http/pprof on this loopback address (e.g. 127.0.0.1:6060)")
	fs.StringVar(&cfg.LogFormat, "log-format", "text", "log format: text or json")

	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		env := "PARLEY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("invalid value %q for %s: %v", v, env, err)
			}
		}
	})
	if envErr != nil {
		return cfg, envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(usage)
			fmt.Fprintln(usage, "Usage of parley (every flag is also PARLEY_<NAME> in the environment; the flag wins):")
			fs.PrintDefaults()
			return cfg, errHelp
		}
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, o := range strings.Split(origins, ",") {
		if strings.TrimSpace(o) == "" {
			continue
		}
		n, err := middleware.NormalizeOrigin(o)
		if err != nil {
			return cfg, fmt.Errorf("invalid -allowed-origins entry %q: %v", strings.TrimSpace(o), err)
		}
		cfg.AllowedOrigins = append(cfg.AllowedOrigins, n)
	}
	return cfg, cfg.validate()
}

func (c config) validate() error {
	switch {
	case c.Addr == "":
		return errors.New("-addr must not be empty")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("-tls-cert and -tls-key go together: give both or neither")
	case c.TicketTTL < time.Second || c.TicketTTL > time.Hour:
		return errors.New("-ticket-ttl must be between 1s and 1h")
	case c.ReadLimit < 256 || c.ReadLimit > 1<<20:
		return errors.New("-read-limit must be between 256 and 1048576 bytes")
	case c.PongWait < time.Second || c.PongWait > 10*time.Minute:
		return errors.New("-pong-wait must be between 1s and 10m")
	case c.WriteWait < time.Second || c.WriteWait > 10*time.Minute:
		return errors.New("-write-wait must be between 1s and 10m")
	case !(c.MsgRate > 0):
		return errors.New("-msg-rate must be greater than 0")
	case c.MsgBurst < 1:
		return errors.New("-msg-burst must be at least 1")
	case c.LoginRate < 1:
		return errors.New("-login-rate must be at least 1")
	case c.Retention < 0:
		return errors.New("-retention must not be negative")
	case c.Retention > 0 && c.Retention < time.Minute:
		return errors.New("-retention must be at least 1m (or 0 to keep messages)")
	case c.RetentionPerRoom < 0:
		return errors.New("-retention-per-room must not be negative")
	case c.LogFormat != "text" && c.LogFormat != "json":
		return errors.New("-log-format must be text or json")
	}
	if c.PprofAddr != "" {
		host, _, err := net.SplitHostPort(c.PprofAddr)
		ip := net.ParseIP(host)
		if err != nil || ((ip == nil || !ip.IsLoopback()) && host != "localhost") {
			return errors.New("-pprof must be a loopback address such as 127.0.0.1:6060")
		}
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return errors.New("-database-url must be a postgres:// URL")
	}
	if c.RedisURL != "" && c.DatabaseURL == "" {
		return errors.New("-redis-url needs -database-url: the nodes of a cluster share one PostgreSQL database")
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") && !strings.HasPrefix(c.RedisURL, "unix://") {
		return errors.New("-redis-url must be a redis://, rediss:// or unix:// URL")
	}
	return nil
}
