// Package throwaway starts PostgreSQL and Redis servers of a test's own:
// on spare ports, in a throwaway directory, stopped when the test ends, so
// a test may kill and restart them, or start them with settings the
// machine's shared servers lack (shared_preload_libraries), without
// touching those. Imported by tests only.
package throwaway

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
)

// Postgres is a throwaway PostgreSQL cluster.
type Postgres struct {
	bin, dir string
	port     int
	cred     *syscall.Credential // the postgres user's, when the test runs as root
	settings []string            // extra -c name=value

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// postgresBin finds the newest PostgreSQL server binaries.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no initdb: install PostgreSQL's server package (apt-get install postgresql)")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Durable turns fsync and full_page_writes back on, for a cluster whose
// figures must include what a real server spends making its writes
// durable (a benchmark measured against a deployed size): pass it to
// StartPostgres, before or with settings of its own.
var Durable = []string{"fsync=on", "full_page_writes=on"}

// StartPostgres initialises a cluster (trust auth, fsync and
// full_page_writes off: it is thrown away) and starts it with settings
// ("name=value", each passed as -c after the defaults, so a setting given
// here replaces the default of the same name, as Durable does). initdb
// refuses to run as root, so as root the cluster belongs to the postgres
// user.
func StartPostgres(t testing.TB, settings ...string) *Postgres {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "wm-throwaway-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &Postgres{bin: bin, dir: dir, port: pgtest.FreePort(t), settings: settings}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, and there is no postgres user to own the throwaway cluster: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	initdb := s.command("initdb", "-D", s.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v: %s", err, out)
	}
	t.Cleanup(func() { s.Stop(syscall.SIGQUIT) })
	if err := s.start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *Postgres) data() string { return filepath.Join(s.dir, "data") }

func (s *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = withDeathSignal(&syscall.SysProcAttr{Credential: s.cred, Setpgid: true}, syscall.SIGQUIT)
	return cmd
}

// URL is the server's address for database name.
func (s *Postgres) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, name)
}

// start runs the postmaster in the foreground (a child of the test, so it
// dies with it) and waits until it accepts connections.
func (s *Postgres) start(ctx context.Context) error {
	logf, err := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	args := []string{"-D", s.data(), "-p", strconv.Itoa(s.port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "shared_buffers=64MB"}
	for _, kv := range s.settings {
		args = append(args, "-c", kv)
	}
	cmd := s.command("postgres", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return waitUntil(ctx, 60*time.Second, "postgres on port "+strconv.Itoa(s.port), func(ctx context.Context) error {
		select {
		case <-done:
			return errStopped
		default:
		}
		conn, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			_ = conn.Close(ctx)
		}
		return err
	})
}

// Stop signals the postmaster (SIGINT: fast shutdown; SIGQUIT: immediate,
// as a crash: the next start recovers from the WAL) and waits for it.
func (s *Postgres) Stop(sig syscall.Signal) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Restart stops the server with sig and starts it again; it returns when
// the server accepts connections again.
func (s *Postgres) Restart(ctx context.Context, sig syscall.Signal) error {
	s.Stop(sig)
	return s.start(ctx)
}

var errStopped = errors.New("the server exited")

// Redis is a throwaway Redis server.
type Redis struct {
	dir  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// StartRedis starts redis-server on a spare port, persisting only when
// asked (SHUTDOWN SAVE), in a throwaway directory.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("no redis-server: install Redis (apt-get install redis-server)")
	}
	s := &Redis{dir: t.TempDir(), port: pgtest.FreePort(t)}
	t.Cleanup(func() { s.Kill() })
	if err := s.start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// Pid is the server's process id.
func (s *Redis) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.Process.Pid
}

// URL is the server's address.
func (s *Redis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

func (s *Redis) start(ctx context.Context) error {
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "no", "--logfile", filepath.Join(s.dir, "redis.log"))
	cmd.SysProcAttr = withDeathSignal(&syscall.SysProcAttr{}, syscall.SIGKILL)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	opts, _ := redis.ParseURL(s.URL())
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	return waitUntil(ctx, 30*time.Second, "redis on port "+strconv.Itoa(s.port), func(ctx context.Context) error {
		select {
		case <-done:
			return errStopped
		default:
		}
		return rdb.Ping(ctx).Err()
	})
}

// Restart shuts Redis down saving its data (as a maintenance restart
// does) and starts it again on the same port; it returns when it answers.
func (s *Redis) Restart(ctx context.Context) error {
	opts, _ := redis.ParseURL(s.URL())
	rdb := redis.NewClient(opts)
	_ = rdb.ShutdownSave(ctx).Err() // the connection closes: no answer
	_ = rdb.Close()
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		s.Kill()
	}
	return s.start(ctx)
}

// Kill kills the server (SIGKILL) and waits for it to exit.
func (s *Redis) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		<-done
	}
}

// waitUntil calls try every 100 ms until it succeeds or timeout passes.
func waitUntil(ctx context.Context, timeout time.Duration, what string, try func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var err error
	for {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		err = try(actx)
		acancel()
		if err == nil || errors.Is(err, errStopped) {
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not ready within %s: %w", what, timeout, err)
		case <-tick.C:
		}
	}
}
