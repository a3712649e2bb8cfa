package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/internal/testsvc"
)

func TestShutdownSends1001(t *testing.T) {
	s := startServer(t)
	a := s.connect(t, s.newUser(t, "rita"))
	b := s.connect(t, s.newUser(t, "sam")) // never reads again: holds the shutdown open briefly
	_ = b
	if code, _ := fetchJSON(t, http.DefaultClient, s.base+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz %d before shutdown", code)
	}
	s.cancel() // as SIGTERM does
	a.expectClose(websocket.CloseGoingAway)
	// While clients are still closing, health reports 503.
	if code, _ := fetchJSON(t, http.DefaultClient, s.base+"/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("healthz %d during shutdown", code)
	}
}

// buildBinary compiles parley once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "parley")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

// startBinary runs the real binary on a free port and returns its address.
func startBinary(t *testing.T, bin, dataDir string, args ...string) (*testsvc.Process, string) {
	t.Helper()
	p := testsvc.StartListening(t, exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-data", dataDir, "-login-rate", "1000", "-msg-rate", "10000", "-msg-burst", "10000"}, args...)...))
	return p, p.Addr
}

// TestAckedMessagesSurviveSIGKILL kills the real binary right after a burst
// of acks and checks, after a restart on the same data folder, that every
// acked message is there, in order, with its id, and that ids go on from
// there.
func TestAckedMessagesSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	proc, addr := startBinary(t, bin, data)
	s := &testServer{t: t, addr: addr, base: "http://" + addr}
	u := s.newUser(t, "tess")
	w := s.connect(t, u)

	// Pipeline 300 messages and collect every ack.
	const n = 300
	for i := range n {
		w.send("send_message", map[string]any{"message": fmt.Sprintf("durable %d", i)}, fmt.Sprint(i))
	}
	acked := map[string]int64{}
	for len(acked) < n {
		var ack struct {
			ID        string `json:"id"`
			MessageID int64  `json:"message_id"`
		}
		w.expectSkipping("ack", "new_message").decode(t, &ack)
		acked[ack.ID] = ack.MessageID
	}
	proc.Kill()

	_, addr2 := startBinary(t, bin, data)
	s2 := &testServer{t: t, addr: addr2, base: "http://" + addr2}
	u.http = newHTTPClient(t)
	if code, body := postJSON(t, u.http, s2.base+"/login", map[string]string{"username": "tess", "password": "correct horse"}); code != http.StatusOK {
		t.Fatalf("login after restart: %d %v", code, body)
	} else {
		u.ticket, u.ticketAt = body["ticket"].(string), time.Now()
	}
	w2 := s2.connect(t, u)
	var stored []messagePayload
	before := int64(0)
	for {
		p := map[string]any{"limit": 100}
		if before > 0 {
			p["before"] = before
		}
		w2.send("history", p, "")
		var page struct {
			Messages []messagePayload `json:"messages"`
		}
		w2.expect("history").decode(t, &page)
		if len(page.Messages) == 0 {
			break
		}
		stored = append(page.Messages, stored...)
		before = page.Messages[0].ID
	}
	if len(stored) != n {
		t.Fatalf("%d messages after SIGKILL, %d were acked", len(stored), n)
	}
	for i, m := range stored {
		if m.Message != fmt.Sprintf("durable %d", i) || acked[fmt.Sprint(i)] != m.ID {
			t.Fatalf("message %d is %+v, acked as id %d", i, m, acked[fmt.Sprint(i)])
		}
	}
	next := w2.say("after restart", "x")
	if next <= stored[n-1].ID {
		t.Fatalf("id %d after restart repeats or precedes %d", next, stored[n-1].ID)
	}
}
