package testsvc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgServer is a running PostgreSQL server owned by this test binary.
type pgServer struct {
	dir  string // temporary folder: data directory, socket and log
	port int
	proc *proc
}

// shared is the binary's one PostgreSQL server, started on first use.
var shared struct {
	mu      sync.Mutex
	started bool
	srv     *pgServer
	err     error
}

// dbSeq numbers the databases handed out to tests.
var dbSeq atomic.Int64

// Postgres returns the URL of a new, empty database on the test binary's
// PostgreSQL server (started on first use, stopped by Main). The database
// is dropped when t ends.
func Postgres(t testing.TB) (url string) {
	t.Helper()
	srv, err := sharedPostgres()
	if err != nil {
		unavailable(t, "PostgreSQL", err)
	}
	name := fmt.Sprintf("parley_test_%d_%d", os.Getpid(), dbSeq.Add(1))
	if err := srv.admin(fmt.Sprintf(`CREATE DATABASE %s`, pgx.Identifier{name}.Sanitize())); err != nil {
		t.Fatalf("PostgreSQL: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.admin(fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, pgx.Identifier{name}.Sanitize())); err != nil {
			t.Errorf("PostgreSQL: drop database: %v", err)
		}
	})
	return srv.url(name)
}

// sharedPostgres starts the shared server once; a failed start is
// remembered and reported to every caller.
func sharedPostgres() (*pgServer, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.started {
		shared.started = true
		shared.srv, shared.err = startPostgres()
	}
	return shared.srv, shared.err
}

// stopSharedPostgres stops the shared server if it was started.
func stopSharedPostgres() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		shared.srv.stop()
		shared.srv = nil
	}
}

// url is the connection URL of database name.
func (s *pgServer) url(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, name)
}

// admin runs one statement on the maintenance database.
func (s *pgServer) admin(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.url("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// stop shuts the server down with SIGINT (PostgreSQL's fast shutdown) and
// removes its folder.
func (s *pgServer) stop() {
	s.proc.stop(syscall.SIGINT)
	os.RemoveAll(s.dir)
}

// pgBinDir finds the folder of initdb and postgres: pg_config's answer,
// else the newest Debian-style /usr/lib/postgresql/<version>/bin.
func pgBinDir() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				return false
			}
		}
		return true
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("initdb and postgres %w (looked at pg_config --bindir and /usr/lib/postgresql/*/bin)", errMissing)
}

// asPostgresUser makes cmd run as the postgres OS user when the test runs
// as root (initdb and postgres refuse to run as root) and gives that user
// the folder dir.
func asPostgresUser(cmd *exec.Cmd, dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root and no postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	return nil
}

// PostgresServer is a PostgreSQL server private to one test, which the
// test may stop and start again (same port, same data) to play an outage.
type PostgresServer struct {
	t    testing.TB
	bin  string
	mu   sync.Mutex
	srv  *pgServer
	dir  string
	port int
}

// StartPostgres starts a PostgreSQL server for t alone; it is stopped, by
// process id, when t ends.
func StartPostgres(t testing.TB) *PostgresServer {
	t.Helper()
	srv, err := startPostgres()
	if err != nil {
		unavailable(t, "PostgreSQL", err)
	}
	p := &PostgresServer{t: t, srv: srv, dir: srv.dir, port: srv.port}
	p.bin, _ = pgBinDir()
	t.Cleanup(func() {
		p.Stop()
		os.RemoveAll(p.dir)
	})
	return p
}

// URL is the connection URL of the server's "postgres" database.
func (p *PostgresServer) URL() string { return (&pgServer{port: p.port}).url("postgres") }

// Stop shuts the server down (fast shutdown) and keeps its data.
func (p *PostgresServer) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		p.srv.proc.stop(syscall.SIGINT)
		p.srv = nil
	}
}

// Start starts the stopped server again on its port and waits until it
// accepts connections.
func (p *PostgresServer) Start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		return
	}
	srv, err := runPostgresOn(p.bin, p.dir, p.port)
	if err != nil {
		p.t.Fatalf("PostgreSQL restart: %v", err)
	}
	p.srv = srv
}

// startPostgres initialises a cluster in a temporary folder and starts a
// server on a free loopback port, retrying with another port when the
// chosen one was taken meanwhile.
func startPostgres() (*pgServer, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "parley-pg-")
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if err := asPostgresUser(initdb, dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		srv, err := runPostgres(bin, dir)
		if err == nil {
			return srv, nil
		}
		lastErr = err
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

// runPostgres starts the server of the cluster in dir and waits until it
// accepts connections. Unix sockets go to dir, TCP only to 127.0.0.1.
// Durability settings are off: the data is thrown away after the tests.
func runPostgres(bin, dir string) (*pgServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return runPostgresOn(bin, dir, port)
}

// runPostgresOn is runPostgres on a given port.
func runPostgresOn(bin, dir string, port int) (*pgServer, error) {
	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd := exec.Command(filepath.Join(bin, "postgres"),
		"-D", filepath.Join(dir, "data"),
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+dir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=300",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := asPostgresUser(cmd, dir); err != nil {
		return nil, err
	}
	p, err := startProc(cmd)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	srv := &pgServer{dir: dir, port: port, proc: p}
	err = p.waitReady(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, srv.url("postgres"))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		return conn.Ping(ctx)
	})
	if err != nil {
		p.stop(syscall.SIGINT)
		log, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("postgres on port %d: %v; log:\n%s", port, err, log)
	}
	return srv, nil
}
