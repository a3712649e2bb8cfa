package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is a server process started by benchcompare.
type server struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{} // closed once the process has been reaped
	log    *os.File
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startServer starts target on a free loopback port, pinned to the server
// CPU with GOMAXPROCS=1 and generous rate limits, and waits until its
// /healthz answers. Parley keeps its database in dataDir.
func startServer(ctx context.Context, c config, target, dataDir string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{"-addr", addr}
	if target == "parley" {
		args = append(args, "-data", dataDir, "-login-rate", "1000000",
			"-msg-rate", "1000000", "-msg-burst", "1000000")
		args = append(args, strings.Fields(c.parleyArgs)...)
	}
	name := c.binary(target)
	if c.serverCPU != "" {
		// taskset execs the server, so the PID is the server's own.
		args = append([]string{"-c", c.serverCPU, name}, args...)
		name = "taskset"
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	logFile, err := os.Create(filepath.Join(dataDir, target+".log"))
	if err != nil {
		return nil, err
	}
	var out io.Writer = logFile
	if c.serverLogs {
		out = io.MultiWriter(logFile, os.Stderr)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	s := &server{cmd: cmd, url: "http://" + addr, exited: make(chan struct{}), log: logFile}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitHealthy(ctx, 15*time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("%s did not become healthy (log: %s): %w", target, logFile.Name(), err)
	}
	return s, nil
}

// waitHealthy polls /healthz until it answers 200, the process exits or
// the limit passes.
func (s *server) waitHealthy(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-tick.C:
		case <-s.exited:
			return fmt.Errorf("the process exited")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pid returns the server's process id.
func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM to the server's PID, and SIGKILL if it has not exited
// after ten seconds; it returns once the process is reaped.
func (s *server) stop() {
	defer s.log.Close()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-s.exited:
	case <-t.C:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}
