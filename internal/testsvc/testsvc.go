// Package testsvc starts real PostgreSQL and Redis servers for tests, on
// 127.0.0.1 only, in temporary folders, and stops them by process id.
//
// A test package that uses PostgreSQL shares one server for the whole test
// binary and must stop it from TestMain:
//
//	func TestMain(m *testing.M) { testsvc.Main(m) }
//
// When a server's binaries are missing the test is skipped, unless the
// environment variable PARLEY_REQUIRE_SERVICES=1 is set (CI sets it), in
// which case it fails.
package testsvc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// RequireEnv names the environment variable that turns a missing server
// into a test failure instead of a skip.
const RequireEnv = "PARLEY_REQUIRE_SERVICES"

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 60 * time.Second

// stopTimeout bounds a graceful stop before the process is killed.
const stopTimeout = 20 * time.Second

// errMissing marks a server whose binaries are not installed.
var errMissing = errors.New("not installed")

// Main runs the tests of a package that uses testsvc, stops the shared
// servers, checks that no goroutine outlives the tests, and exits.
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// StopShared stops the servers shared by the test binary. Main calls it;
// a TestMain of its own must call it after m.Run.
func StopShared() {
	stopSharedPostgres()
}

// unavailable skips or fails t because a server could not be used.
func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if errors.Is(err, errMissing) && os.Getenv(RequireEnv) != "1" {
		t.Skipf("%s: %v (set %s=1 to fail instead)", what, err, RequireEnv)
	}
	t.Fatalf("%s: %v", what, err)
}

// freePort asks the kernel for a free TCP port on 127.0.0.1. Another
// process could take it before the server binds it; callers retry.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// proc is a started server process.
type proc struct {
	cmd *exec.Cmd
	// exited is closed when the process has ended; err is then its result.
	exited chan struct{}
	err    error
}

// startProc starts cmd, makes it die with the test binary (parent-death
// signal), and watches its exit.
func startProc(cmd *exec.Cmd) (*proc, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop sends sig to the process (by its id), waits for it to end, and
// kills it if it is still running after stopTimeout.
func (p *proc) stop(sig syscall.Signal) {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = syscall.Kill(p.cmd.Process.Pid, sig)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// waitReady calls ready until it succeeds, the process exits, or
// startTimeout passes.
func (p *proc) waitReady(ready func() error) error {
	deadline := time.Now().Add(startTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", startTimeout, err)
		}
		select {
		case <-p.exited:
			return fmt.Errorf("exited while starting: %v", p.err)
		case <-tick.C:
		}
	}
}
