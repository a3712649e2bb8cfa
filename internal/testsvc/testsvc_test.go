package testsvc

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

// connect opens a connection to rawURL, closed when t ends.
func connect(t *testing.T, rawURL string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestPostgres(t *testing.T) {
	var first string
	t.Run("a database per test", func(t *testing.T) {
		first = Postgres(t)
		second := Postgres(t)
		if first == second {
			t.Fatalf("two tests share database %s", first)
		}
		u, err := url.Parse(first)
		if err != nil {
			t.Fatal(err)
		}
		if u.Hostname() != "127.0.0.1" {
			t.Fatalf("server host %q, want 127.0.0.1", u.Hostname())
		}
		conn := connect(t, first)
		ctx := context.Background()
		if _, err := conn.Exec(ctx, `CREATE TABLE t (x int); INSERT INTO t VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		var version string
		if err := conn.QueryRow(ctx, `SHOW server_version`).Scan(&version); err != nil {
			t.Fatal(err)
		}
		t.Logf("PostgreSQL %s at %s", version, u.Host)
		// The other database is empty.
		var n int
		if err := connect(t, second).QueryRow(ctx, `SELECT COUNT(*) FROM pg_tables WHERE tablename = 't'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("second database sees %d tables named t (%v)", n, err)
		}
	})
	if t.Skipped() || first == "" {
		return
	}
	// When the subtest ended its databases were dropped; the server runs on.
	u, _ := url.Parse(first)
	name := strings.TrimPrefix(u.Path, "/")
	admin := *u
	admin.Path = "/postgres"
	var exists bool
	if err := connect(t, admin.String()).QueryRow(context.Background(),
		`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatalf("database %s still exists after its test", name)
	}
}

func TestRedisRestart(t *testing.T) {
	r := StartRedis(t)
	if !strings.HasPrefix(r.URL(), "redis://127.0.0.1:") {
		t.Fatalf("URL %q", r.URL())
	}
	if err := ping(r.Addr()); err != nil {
		t.Fatalf("PING a started server: %v", err)
	}
	addr := r.Addr()
	r.Stop()
	if err := ping(addr); err == nil {
		t.Fatal("a stopped server answered PING")
	}
	r.Stop() // stopping twice is harmless
	r.Start()
	if r.Addr() != addr {
		t.Fatalf("restarted on %s, want %s", r.Addr(), addr)
	}
	if err := ping(addr); err != nil {
		t.Fatalf("PING after restart: %v", err)
	}
	r.Start() // starting a running server is harmless
}

func TestRedisURL(t *testing.T) {
	u, err := url.Parse(Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := ping(u.Host); err != nil {
		t.Fatalf("PING %s: %v", u.Host, err)
	}
}
