package testsvc

import (
	"bufio"
	"os/exec"
	"strings"
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
	p := &Process{Cmd: cmd, Done: done}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
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

// Kill stops the process with SIGKILL and waits until it has exited.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.Done
}
