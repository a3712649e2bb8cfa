package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/testsvc"
)

func TestConcurrentStartUp(t *testing.T) {
	url := testsvc.Postgres(t)
	const nodes = 6
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(context.Background(), url)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: Open on a fresh database: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	var rows, newest int
	if err := stores[0].pool.QueryRow(context.Background(),
		`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&rows, &newest); err != nil {
		t.Fatal(err)
	}
	if rows != len(migrations) || newest != len(migrations) {
		t.Fatalf("schema_migrations holds %d rows up to %d, want %d", rows, newest, len(migrations))
	}
	// Every node works.
	for i, s := range stores {
		if err := s.CreateUser(context.Background(), fmt.Sprintf("user%d", i), "h", base()); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
}

// TestCommitOrderAcrossNodes has two nodes write to one room while a
// reader follows it with Since, as a reconnecting client does. If a room's
// ids could commit out of order, the reader would step past an id that
// commits later and never see it.
func TestCommitOrderAcrossNodes(t *testing.T) {
	url := testsvc.Postgres(t)
	var nodes [2]*Store
	for i := range nodes {
		s, err := Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		nodes[i] = s
	}
	const writersPerNode, rounds = 4, 60
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 2*writersPerNode)
	for n, s := range nodes {
		for w := range writersPerNode {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range rounds {
					batch := []store.Message{
						{Room: "busy", From: "a", Text: fmt.Sprintf("%d/%d/%d", n, w, r), Sent: base()},
						{Room: fmt.Sprintf("other%d", w%2), From: "a", Text: "x", Sent: base()},
					}
					if r%2 == 1 {
						batch = batch[:1]
					}
					if err := s.SaveMessages(ctx, batch); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	writing := make(chan struct{})
	go func() {
		wg.Wait()
		close(writing)
	}()

	seen := map[int64]bool{}
	last := int64(0)
	follow := func() {
		msgs, _, err := nodes[1].Since(ctx, "busy", last, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			seen[m.ID] = true
			last = m.ID
		}
	}
	for done := false; !done; {
		select {
		case <-writing:
			done = true
		default:
		}
		follow()
	}
	follow()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, err := nodes[0].History(ctx, "busy", 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2*writersPerNode*rounds {
		t.Fatalf("room holds %d messages, want %d", len(all), 2*writersPerNode*rounds)
	}
	for _, m := range all {
		if !seen[m.ID] {
			t.Fatalf("the follower never saw message %d: ids committed out of order", m.ID)
		}
	}
}

func TestUnavailable(t *testing.T) {
	// A port with nothing listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("postgres://postgres@%s/none?sslmode=disable&connect_timeout=5", l.Addr())
	l.Close()
	if s, err := Open(context.Background(), dead); !errors.Is(err, store.ErrUnavailable) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open on a dead port = %v, want ErrUnavailable", err)
	}

	s := openFresh(t)
	s.Close()
	ctx := context.Background()
	calls := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"SaveMessages", func() error {
			return s.SaveMessages(ctx, []store.Message{{Room: "a", From: "b", Text: "c", Sent: base()}})
		}},
		{"History", func() error { _, err := s.History(ctx, "a", 0, 10); return err }},
		{"User", func() error { _, err := s.User(ctx, "a"); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("%s on a closed store = %v, want ErrUnavailable", c.name, err)
			}
		})
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	url := testsvc.Postgres(t)
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.pool.Exec(context.Background(), `INSERT INTO schema_migrations (version) VALUES ($1)`, len(migrations)+1)
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(context.Background(), url)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a database from a newer program")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open = %v, want an error about a newer schema", err)
	}
}
