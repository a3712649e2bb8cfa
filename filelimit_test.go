package main

import (
	"net"
	"net/http"
	"os/exec"
	"testing"

	"github.com/parley-chat/parley/internal/testsvc"
)

// TestServerOutlivesItsFileLimit starts the real binary with a limit of 64
// open files and opens more connections than that to it. The server must
// say that it cannot accept, keep running, and serve a whole session
// (register, log in, WebSocket, room_joined) once the connections are
// gone. A server that gave up at its first failed accept would drop every
// user it has at its file limit.
func TestServerOutlivesItsFileLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin := buildBinary(t)
	// sh's ulimit sets the hard limit too, so the server cannot raise it.
	cmd := exec.Command("/bin/sh", "-c", `ulimit -n 64 && exec "$0" "$@"`, bin,
		"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-login-rate", "1000")
	p := testsvc.StartListening(t, cmd)

	var conns []net.Conn
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
		conns = nil
	}
	defer closeAll()
	// The kernel completes these handshakes whether or not the server can
	// accept them; the server runs out of descriptors part way.
	for range 100 {
		c, err := net.Dial("tcp", p.Addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, c)
	}
	p.WaitLine(t, "cannot accept connections", "too many open files")
	closeAll()

	s := &testServer{t: t, addr: p.Addr, base: "http://" + p.Addr}
	w := s.connect(t, s.newUser(t, "lena"))
	w.say("still here", "1")
	if code, _ := fetchJSON(t, http.DefaultClient, s.base+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz %d after running out of files", code)
	}
	select {
	case <-p.Done:
		t.Fatal("the server exited")
	default:
	}
}
