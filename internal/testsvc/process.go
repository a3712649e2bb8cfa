package testsvc

import (
	"bufio"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a server binary a test started: where it listens, and when it
// has exited.
type Process struct {
	Cmd  *exec.Cmd
	Addr string          // host:port from its start-up line
	Done <-chan struct{} // closed once it has exited (and was waited for)

	mu    sync.Mutex
	lines []string      // its stderr so far
	more  chan struct{} // closed and replaced when a line arrives
}

// StartListening starts cmd and waits, up to 30 s, for the line on its
// stderr that says where it listens (one holding "listening" and
// "addr=HOST:PORT"). The process is killed by its id when t ends.
func StartListening(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	p := &Process{Cmd: cmd, Done: done, more: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.lines = append(p.lines, line)
			close(p.more)
			p.more = make(chan struct{})
			p.mu.Unlock()
			if i := strings.Index(line, "addr="); i >= 0 && !sent && strings.Contains(line, "listening") {
				addr <- strings.Fields(line[i+len("addr="):])[0]
				sent = true
			}
		}
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(p.Kill)
	select {
	case p.Addr = <-addr:
		return p
	case <-done:
		t.Fatalf("%s exited at start-up", cmd.Path)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start listening in 30s", cmd.Path)
	}
	return nil
}

// WaitLine waits, up to 30 s, for a line of the process's stderr that
// holds every one of parts, and returns it. It fails the test when the
// process exits or the time is up first.
func (p *Process) WaitLine(t testing.TB, parts ...string) string {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	seen, exited := 0, false
	for {
		p.mu.Lock()
		lines, more := p.lines, p.more
		p.mu.Unlock()
		for ; seen < len(lines); seen++ {
			if containsAll(lines[seen], parts) {
				return lines[seen]
			}
		}
		if exited { // every line was read before Done closed
			t.Fatalf("%s exited before logging %q; its log:\n%s", p.Cmd.Path, parts, strings.Join(lines, "\n"))
		}
		select {
		case <-more:
		case <-p.Done:
			exited = true
		case <-deadline.C:
			t.Fatalf("%s did not log %q in 30s", p.Cmd.Path, parts)
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, part := range parts {
		if !strings.Contains(s, part) {
			return false
		}
	}
	return true
}

// Kill stops the process with SIGKILL and waits until it has exited.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.Done
}
