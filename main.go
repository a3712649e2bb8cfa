// Command parley is a real-time chat server: accounts, rooms and history over
// WebSockets, on one binary with an embedded SQLite database.
//
// main only wires things together: read the configuration, open the store,
// start the hub, build the Fiber app, serve, and shut down gracefully.
package main

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/parley-chat/parley/handlers"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/cluster"
	"github.com/parley-chat/parley/internal/listener"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/postgres"
	"github.com/parley-chat/parley/internal/store/sqlite"
	"github.com/parley-chat/parley/routes"
)

//go:embed views
var viewsFS embed.FS

//go:embed public
var publicFS embed.FS

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil))
}

// shutdownTimeout bounds the graceful shutdown.
const shutdownTimeout = 10 * time.Second

// run starts Parley and serves until ctx ends. ready, when not nil, is told
// the listening address. It returns the process exit code: 0 after a
// graceful shutdown, 2 for bad configuration, 1 for other start-up failures.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready func(addr string)) int {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return 2
	}
	if err := serve(ctx, cfg, stderr, ready); err != nil {
		fmt.Fprintf(stderr, "parley: %s\n", oneLine(err.Error()))
		return 1
	}
	return 0
}

// oneLine folds a message that spans lines (some drivers' errors do) into
// one line, so that a start-up failure is one line on stderr.
func oneLine(msg string) string {
	return strings.Join(strings.Fields(msg), " ")
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func serve(ctx context.Context, cfg config, stderr io.Writer, ready func(string)) error {
	log := newLogger(cfg, stderr)

	var tlsConf *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("cannot load the TLS certificate: %v", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	st, where, err := openStore(openCtx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer st.Close()

	// Without -redis-url this node is the whole chat: in-process fan-out,
	// tickets and limits in memory.
	chatCfg := chat.Config{}
	tickets := auth.TicketStore(auth.NewMemoryTickets(nil))
	limiter := auth.Limiter(auth.NewMemoryLimiter(cfg.LoginRate, nil))
	checks := map[string]handlers.Pinger{"database": st.Ping}
	var cl *cluster.Cluster
	if cfg.RedisURL != "" {
		openCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cl, err = cluster.Open(openCtx, cfg.RedisURL, cluster.Options{Logger: log})
		cancel()
		if err != nil {
			return err
		}
		defer cl.Close() // after the hub's Shutdown, which closes the broker
		chatCfg.NewBroker = cl.NewBroker
		chatCfg.Presence = cl.Presence()
		chatCfg.EndSession = cl.EndSession
		tickets, limiter = cl.Tickets(), cl.Limiter(cfg.LoginRate)
		checks["redis"] = cl.Ping
		log.Info("joined the cluster", "node", cl.Node())
	}

	ln, err := listener.Listen(ctx, cfg.Addr, log)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v", cfg.Addr, err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	chatCfg.Store = st
	chatCfg.Logger = log
	chatCfg.Metrics = chat.NewMetrics(reg)
	chatCfg.MsgRate, chatCfg.MsgBurst = cfg.MsgRate, cfg.MsgBurst
	retention := store.Retention{MaxAge: cfg.Retention, MaxPerRoom: cfg.RetentionPerRoom}
	chatCfg.Retention = retention
	hub, err := chat.NewHub(chatCfg)
	if err != nil {
		ln.Close()
		return fmt.Errorf("cannot start the hub: %v", err)
	}
	if cl != nil {
		cl.OnSessionEnded(hub.CloseLocalSession)
		cl.OnLeft(hub.AnnounceLeft)
	}
	stopPruner := store.StartPruner(st, retention, time.Minute, log)
	defer stopPruner()

	var shutting atomic.Bool
	app := routes.New(routes.Deps{
		Log:            log,
		Views:          mustSub(viewsFS, "views"),
		Public:         mustSub(publicFS, "public"),
		Accounts:       auth.NewAccounts(st, limiter, nil),
		Tickets:        auth.NewTickets(tickets, cfg.TicketTTL, nil),
		Hub:            hub,
		Registry:       reg,
		AllowedOrigins: cfg.AllowedOrigins,
		ReadLimit:      cfg.ReadLimit,
		PongWait:       cfg.PongWait,
		WriteWait:      cfg.WriteWait,
		Shutting:       &shutting,
		Checks:         checks,
	})

	stopPprof, err := startPprof(cfg.PprofAddr, log)
	if err != nil {
		ln.Close()
		_ = hub.Shutdown(context.Background())
		return err
	}
	defer stopPprof()

	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	log.Info("parley is listening", "addr", ln.Addr().String(), "scheme", scheme, "data", where)
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case <-ctx.Done():
	case err := <-served:
		_ = hub.Shutdown(context.Background())
		return fmt.Errorf("the server stopped: %v", err)
	}

	log.Info("shutting down")
	shutting.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := hub.Shutdown(sctx); err != nil {
		log.Warn("clients did not all close in time", "err", err)
	}
	if err := app.ShutdownWithContext(sctx); err != nil {
		log.Warn("HTTP shutdown incomplete", "err", err)
	}
	<-served
	log.Info("stopped")
	return nil
}

// openStore opens PostgreSQL when -database-url is set, else the embedded
// SQLite database in -data. It says where, for the start-up log line.
func openStore(ctx context.Context, cfg config) (store.Store, string, error) {
	if cfg.DatabaseURL != "" {
		st, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, "", fmt.Errorf("cannot open the PostgreSQL database: %v", err)
		}
		return st, "postgresql", nil
	}
	st, err := sqlite.Open(ctx, cfg.Data)
	if err != nil {
		return nil, "", fmt.Errorf("cannot open the database in %s: %v", cfg.Data, err)
	}
	return st, cfg.Data, nil
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// startPprof serves the profiler on a loopback address when asked.
func startPprof(addr string, log *slog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on -pprof %s: %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("pprof is listening", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}
