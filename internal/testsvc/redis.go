package testsvc

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RedisServer is a real redis-server on 127.0.0.1, private to one test. It
// keeps its port across Stop and Start, so fault tests can take Redis away
// and bring it back where clients expect it. It keeps no data on disk: a
// restarted server starts empty.
type RedisServer struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu   sync.Mutex
	proc *proc // nil while stopped
}

// Redis starts a redis-server for t and returns its URL; it is stopped when
// t ends.
func Redis(t testing.TB) (url string) {
	t.Helper()
	return StartRedis(t).URL()
}

// StartRedis starts a redis-server for t on a free loopback port and returns
// its handle; it is stopped (by process id) when t ends.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "Redis", fmt.Errorf("redis-server %w: %v", errMissing, err))
	}
	r := &RedisServer{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(r.Stop)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("Redis: %v", err)
		}
		r.port = port
		if lastErr = r.start(); lastErr == nil {
			return r
		}
	}
	t.Fatalf("Redis: %v", lastErr)
	return nil
}

// URL is the redis:// address of the server.
func (r *RedisServer) URL() string {
	return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port)
}

// Addr is the host:port of the server.
func (r *RedisServer) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port))
}

// Stop shuts the server down (SIGTERM to its process id) and waits for it
// to exit. Stopping a stopped server does nothing.
func (r *RedisServer) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil {
		r.proc.stop(syscall.SIGTERM)
		r.proc = nil
	}
}

// Start starts the server again on the same port and waits until it
// answers PING; the test fails if it cannot. Starting a running server
// does nothing.
func (r *RedisServer) Start() {
	r.t.Helper()
	if err := r.start(); err != nil {
		r.t.Fatalf("Redis restart on port %d: %v", r.port, err)
	}
}

// start runs redis-server and waits for PING.
func (r *RedisServer) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil {
		return nil
	}
	logPath := fmt.Sprintf("%s/redis-%d.log", r.dir, r.port)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(r.bin,
		"--port", strconv.Itoa(r.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", r.dir,
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	p, err := startProc(cmd)
	if err != nil {
		return err
	}
	if err := p.waitReady(func() error { return ping(r.Addr()) }); err != nil {
		p.stop(syscall.SIGTERM)
		log, _ := os.ReadFile(logPath)
		return fmt.Errorf("%v; log:\n%s", err, log)
	}
	r.proc = p
	return nil
}

// ping sends PING over a fresh connection and expects +PONG.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}
