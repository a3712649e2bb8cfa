package cluster_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/internal/testsvc"
)

// TestCrossNodeChatInIDOrder: three users on three nodes talk at once in
// one room; every one of them gets every message once, in id order, and
// all see the same sequence.
func TestCrossNodeChatInIDOrder(t *testing.T) {
	c := newCluster(t)
	nodes := []*node{c.start(), c.start(), c.start()}
	names := []string{"ann", "bob", "cyd"}
	conns := make([]*conn, len(nodes))
	for i, n := range nodes {
		conns[i], _ = n.connect(n.register(names[i]))
		conns[i].changeRoom("talk", -1)
	}
	const each = 40
	acked := make([][]int64, len(conns))
	var wg sync.WaitGroup
	for i, cn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < each; k++ {
				id := fmt.Sprintf("%s-%d", names[i], k)
				cn.send("send_message", map[string]string{"message": id}, id)
			}
		}()
	}
	wg.Wait()
	var seqs [][]int64
	for i, cn := range conns {
		got := map[string]bool{}
		var seq []int64
		var last int64
		for len(seq) < each*len(conns) || len(acked[i]) < each {
			e := cn.next()
			switch e.Type {
			case "new_message":
				var m message
				e.decode(t, &m)
				if m.ID <= last {
					t.Fatalf("%s got message %d after %d", names[i], m.ID, last)
				}
				last = m.ID
				if got[m.Message] {
					t.Fatalf("%s got %q twice", names[i], m.Message)
				}
				got[m.Message] = true
				seq = append(seq, m.ID)
			case "ack":
				var a struct {
					MessageID int64 `json:"message_id"`
				}
				e.decode(t, &a)
				acked[i] = append(acked[i], a.MessageID)
			case "error":
				t.Fatalf("%s: %s", names[i], e.Payload)
			}
		}
		seqs = append(seqs, seq)
	}
	for i := 1; i < len(seqs); i++ {
		if !slices.Equal(seqs[i], seqs[0]) {
			t.Fatalf("%s and %s saw different sequences:\n%v\n%v", names[0], names[i], seqs[0], seqs[i])
		}
	}
	var all []int64
	for _, a := range acked {
		all = append(all, a...)
	}
	slices.Sort(all)
	if !slices.Equal(all, seqs[0]) {
		t.Fatalf("acked ids %v, delivered %v", all, seqs[0])
	}
}

// TestTicketWorksOnAnotherNodeOnce: a ticket from node A opens a socket on
// node B, once, however many dials race for it on B and C.
func TestTicketWorksOnAnotherNodeOnce(t *testing.T) {
	c := newCluster(t)
	a, b, cc := c.start(), c.start(), c.start()
	u := a.register("dora")
	for round := 0; round < 3; round++ {
		tk := a.ticket(u)
		var wins, refused atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			n := b
			if i%2 == 1 {
				n = cc
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				ws, resp, err := n.dial(tk)
				if err == nil {
					wins.Add(1)
					ws.Close()
					return
				}
				if resp != nil && resp.StatusCode == http.StatusUnauthorized {
					refused.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || refused.Load() != 15 {
			t.Fatalf("round %d: %d dials won and %d got 401, want 1 and 15", round, wins.Load(), refused.Load())
		}
	}
}

// TestMembershipSpansNodes: members, user_joined and user_left count users
// across nodes, and GET /rooms on any node shows the whole cluster.
func TestMembershipSpansNodes(t *testing.T) {
	c := newCluster(t)
	n0, n1, n2 := c.start(), c.start(), c.start()
	ann, bob := n0.register("ann"), n1.register("bob")
	a1, _ := n0.connect(ann)
	a1.changeRoom("x", -1)
	b1, _ := n1.connect(bob)
	rj := b1.changeRoom("x", -1)
	if !slices.Equal(rj.Members, []string{"ann", "bob"}) {
		t.Fatalf("bob's members on node 1: %v", rj.Members)
	}
	var who struct{ Room, User string }
	a1.expect("user_joined").decode(t, &who)
	if who.User != "bob" || who.Room != "x" {
		t.Fatalf("user_joined %+v", who)
	}
	// Ann's second connection, on a third node: no user_joined for bob,
	// and still two members.
	a2, _ := n2.connect(ann)
	rj = a2.changeRoom("x", -1)
	if !slices.Equal(rj.Members, []string{"ann", "bob"}) {
		t.Fatalf("ann's members on node 2: %v", rj.Members)
	}
	for _, n := range []*node{n0, n1, n2} {
		req, _ := http.NewRequest(http.MethodGet, n.base+"/rooms", nil)
		req.AddCookie(bob.cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Rooms []struct {
				Name    string `json:"name"`
				Members int    `json:"members"`
			} `json:"rooms"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		found := false
		for _, r := range body.Rooms {
			if r.Name == "x" {
				found = r.Members == 2
			}
		}
		if !found {
			t.Fatalf("GET /rooms on %s: %+v, want x with 2 members", n.base, body.Rooms)
		}
	}
	// Ann leaves on one node only: nobody hears of it. Then bob's only
	// connection leaves: ann hears user_left on the connection still there.
	a1.changeRoom("elsewhere", -1)
	b1.changeRoom("elsewhere2", -1)
	for {
		e := a2.next()
		if e.Type == "user_left" {
			e.decode(t, &who)
			if who.User != "bob" {
				t.Fatalf("user_left for %s, want bob (ann still has a connection in x)", who.User)
			}
			break
		}
	}
}

// TestKilledNodesClientsRecoverElsewhere: a node dies with SIGKILL; its
// user leaves the member lists within the node TTL, and, reconnecting to
// another node with since, gets exactly the messages acked meanwhile.
func TestKilledNodesClientsRecoverElsewhere(t *testing.T) {
	c := newCluster(t)
	doomed, n1, n2 := c.start(), c.start(), c.start()
	ann, bob := doomed.register("ann"), n1.register("bob")
	a, _ := doomed.connect(ann)
	a.changeRoom("k", -1)
	b, _ := n1.connect(bob)
	b.changeRoom("k", -1)
	a.expect("user_joined")
	lastSeen := relay(b, a, "before", 0)

	killed := time.Now()
	doomed.kill()
	var missed []int64
	for i := 0; i < 5; i++ {
		id, _ := b.say(fmt.Sprint("while away ", i))
		missed = append(missed, id)
	}
	// Bob hears that ann left, once her node is declared dead.
	var who struct{ Room, User string }
	b.expect("user_left").decode(t, &who)
	if who.User != "ann" {
		t.Fatalf("user_left for %s", who.User)
	}
	t.Logf("the killed node's user left the room %v after the kill", time.Since(killed).Round(100*time.Millisecond))

	a2, _ := n2.connect(ann)
	rj := a2.changeRoom("k", lastSeen)
	if !slices.Equal(ids(rj.History), missed) || rj.Recovered == nil || !*rj.Recovered {
		t.Fatalf("recovered %v (complete %v), want %v", ids(rj.History), rj.Recovered, missed)
	}
	if !slices.Equal(rj.Members, []string{"ann", "bob"}) {
		t.Fatalf("members after the move: %v", rj.Members)
	}
	// And the chat goes on across the two remaining nodes.
	relay(b, a2, "welcome back", missed[len(missed)-1])
}

// TestRedisRestartUnderTraffic: while Redis is down each node serves its
// own clients and reports 503; when it is back the nodes catch up on what
// crossed no node meanwhile, and fan-out resumes.
func TestRedisRestartUnderTraffic(t *testing.T) {
	c := newCluster(t)
	n0, n1 := c.start(), c.start()
	ann, bob := n0.register("ann"), n1.register("bob")
	a, _ := n0.connect(ann)
	a.changeRoom("r", -1)
	b, _ := n1.connect(bob)
	b.changeRoom("r", -1)
	last := relay(a, b, "hello", 0)

	c.redis.Stop()
	var sent []int64
	for i := 0; i < 5; i++ {
		// Ann's own messages are stored, acked and delivered to her by her
		// node alone.
		id, echoed := a.say(fmt.Sprint("during the outage ", i))
		sent = append(sent, id)
		if len(echoed) != 1 || echoed[0].ID != id {
			t.Fatalf("ann's own message %d came back as %v", id, ids(echoed))
		}
	}
	for _, n := range []*node{n0, n1} {
		n.waitHealth(http.StatusServiceUnavailable, 10*time.Second)
	}
	c.redis.Start()
	// Bob's node catches up from the database once it has resubscribed.
	got := b.messages(len(sent), last)
	if !slices.Equal(ids(got), sent) {
		t.Fatalf("bob got %v after the outage, want %v", ids(got), sent)
	}
	for _, n := range []*node{n0, n1} {
		n.waitHealth(http.StatusOK, 15*time.Second)
	}
	relay(b, a, "we are back", sent[len(sent)-1])
}

// TestLogoutClosesSocketsOnEveryNode: logging out on one node closes the
// session's sockets on the others with 1008.
func TestLogoutClosesSocketsOnEveryNode(t *testing.T) {
	c := newCluster(t)
	n0, n1 := c.start(), c.start()
	u := n0.register("eve")
	s, _ := n1.connect(u)
	resp, _ := post(t, n0.base+"/logout", nil, u.cookie)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if err := s.closed(); !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
		t.Fatalf("socket on the other node ended with %v, want close 1008", err)
	}
	if resp, _ := post(t, n1.base+"/ticket", nil, u.cookie); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("ticket after logout on another node: %d", resp.StatusCode)
	}
}

// TestDatabaseOutage: while PostgreSQL is down a send is answered with
// error unavailable (not left hanging) and /healthz says 503; when it is
// back, sends succeed again and reach the other node.
func TestDatabaseOutage(t *testing.T) {
	c, pg := newClusterOwnDB(t)
	n0, n1 := c.start(), c.start()
	ann, bob := n0.register("ann"), n1.register("bob")
	a, _ := n0.connect(ann)
	b, _ := n1.connect(bob)
	id := relay(a, b, "before", 0)

	pg.Stop()
	start := time.Now()
	a.send("send_message", map[string]string{"message": "into the void"}, "x1")
	var e struct {
		Code string `json:"code"`
		ID   string `json:"id"`
	}
	a.expect("error").decode(t, &e)
	if e.Code != "unavailable" || e.ID != "x1" {
		t.Fatalf("error %+v, want unavailable for x1", e)
	}
	t.Logf("a send without the database was refused after %v", time.Since(start).Round(time.Millisecond))
	if code := health(t, n0); code != http.StatusServiceUnavailable {
		t.Fatalf("healthz %d without the database", code)
	}

	pg.Start()
	// The pool reconnects by itself; retry the send until it is acked.
	deadline := time.Now().Add(30 * time.Second)
	var after int64
	for k := 0; after == 0; k++ {
		if time.Now().After(deadline) {
			t.Fatal("sends did not resume after the database returned")
		}
		rid := fmt.Sprint("retry-", k)
		a.send("send_message", map[string]string{"message": "back"}, rid)
		for after == 0 {
			ev := a.next()
			if ev.Type == "ack" {
				var ack struct {
					ID        string `json:"id"`
					MessageID int64  `json:"message_id"`
				}
				ev.decode(t, &ack)
				if ack.ID == rid {
					after = ack.MessageID
				}
			} else if ev.Type == "error" {
				time.Sleep(200 * time.Millisecond) // back off before the next try
				break
			}
		}
	}
	if got := b.messages(1, id); got[0].ID != after {
		t.Fatalf("bob got %d after the outage, want %d", got[0].ID, after)
	}
	if code := health(t, n0); code != http.StatusOK {
		t.Fatalf("healthz %d after the database returned", code)
	}
}

// TestNodesStartTogetherOnAnEmptyDatabase: three nodes started at the same
// moment on a new database all come up (they take turns migrating it), and
// each serves.
func TestNodesStartTogetherOnAnEmptyDatabase(t *testing.T) {
	c := newCluster(t)
	for i := range 3 {
		t.Run(fmt.Sprint("node", i), func(t *testing.T) {
			t.Parallel()
			n := startNode(t, "-database-url", c.db, "-redis-url", c.redis.URL())
			if code := health(t, n); code != http.StatusOK {
				t.Fatalf("healthz %d", code)
			}
			n.register(fmt.Sprint("starter", i))
		})
	}
}

// TestUnreachableRedisStopsStartUp: a node whose Redis cannot be reached
// does not start; it says so in one line and exits non-zero.
func TestUnreachableRedisStopsStartUp(t *testing.T) {
	db := testsvc.Postgres(t)
	cmd := exec.Command(binary(t), "-addr", "127.0.0.1:0", "-database-url", db, "-redis-url", "redis://127.0.0.1:1/0")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the node started without Redis: %s", out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "parley: ") || !strings.Contains(last, "Redis") {
		t.Fatalf("last line %q, want one naming Redis", last)
	}
}
