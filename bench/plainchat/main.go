// Command plainchat is the comparison server of the Parley benchmarks: a chat
// server built the way the gorilla/websocket chat example is (one hub
// goroutine owning the rooms, a reader and a writer goroutine per
// connection, bounded per-client queues that evict a client when full, one
// frame per message, pings), with rooms and just enough of the Parley
// protocol for the load scenarios: room_joined on connect, change_room,
// send_message to new_message and ack. It has no accounts and no storage:
// the user name is the "user" query parameter of /ws.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address (loopback)")
	queue := flag.Int("send-queue", 256, "events queued per client before it is evicted")
	readLimit := flag.Int64("read-limit", 4096, "largest WebSocket message accepted, in bytes")
	pongWait := flag.Duration("pong-wait", 10*time.Second, "a client silent this long is dropped")
	flag.Parse()
	if err := run(*addr, Settings{SendQueue: *queue, ReadLimit: *readLimit, PongWait: *pongWait}); err != nil {
		fmt.Fprintln(os.Stderr, "plainchat:", err)
		os.Exit(1)
	}
}

// NewMux returns the server's routes: /ws, /healthz and /metrics.
func NewMux(h *Hub, s Settings) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", ServeWS(h, s))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.Handle("GET /metrics", promhttp.Handler())
	return mux
}

// run serves until SIGINT or SIGTERM, then closes every client with 1001.
func run(addr string, s Settings) error {
	if s.SendQueue < 1 || s.ReadLimit < 1 || s.PongWait <= 0 {
		return errors.New("-send-queue, -read-limit and -pong-wait must be positive")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hub := NewHub()
	hubCtx, stopHub := context.WithCancel(context.Background())
	go hub.Run(hubCtx)
	srv := &http.Server{Handler: NewMux(hub, s), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	slog.Info("plainchat listening", "addr", ln.Addr().String())
	select {
	case err := <-serveErr:
		stopHub()
		return err
	case <-ctx.Done():
	}
	stopHub()
	<-hub.done
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}
