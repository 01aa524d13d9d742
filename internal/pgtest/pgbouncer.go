package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// PgbouncerPath is where Debian's pgbouncer package installs the binary
// (`make pgbouncer` installs it).
const PgbouncerPath = "/usr/sbin/pgbouncer"

// Pgbouncer starts a pgbouncer of its own for this test, in transaction
// mode, on a free port in front of the local PostgreSQL at 127.0.0.1:5432
// (every database, user postgres, trust), stops it when the test ends, and
// returns it with the URL of the database databaseURL names, through it. poolSize
// is the server connections it opens per database. It fails the test when
// pgbouncer is not installed. User postgres may read the admin console
// (database pgbouncer: SHOW STATS, with the simple protocol).
func Pgbouncer(t testing.TB, databaseURL string, poolSize int) Bouncer {
	t.Helper()
	u, err := neturl.Parse(databaseURL)
	if err != nil {
		t.Fatalf("pgtest: parse %s: %v", databaseURL, err)
	}
	if _, err := os.Stat(PgbouncerPath); err != nil {
		t.Fatalf("pgtest: %s is missing: run `make pgbouncer` (Debian package pgbouncer)", PgbouncerPath)
	}
	port := FreePort(t)
	// pgbouncer refuses to run as root; as root it is started as nobody,
	// who must read its files (they hold no secret).
	dir, err := os.MkdirTemp("", "pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	auth := filepath.Join(dir, "users.txt")
	if err := os.WriteFile(auth, []byte(`"postgres" ""`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ini := fmt.Sprintf(`[databases]
* = host=127.0.0.1 port=5432 user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 1000
admin_users = postgres
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
`, port, auth, poolSize)
	path := filepath.Join(dir, "pgbouncer.ini")
	if err := os.WriteFile(path, []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{path}
	if os.Geteuid() == 0 {
		args = []string{"-u", "nobody", path}
	}
	var log syncBuffer
	cmd := exec.Command(PgbouncerPath, args...)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("pgtest: start pgbouncer: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(t, addr, &log)
	u.Host = addr
	return Bouncer{URL: u.String(), PID: cmd.Process.Pid}
}

// Bouncer is a running pgbouncer.
type Bouncer struct {
	URL string // the database's URL through pgbouncer
	PID int    // its process
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// a server a test starts of its own.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitListening waits until addr accepts a connection, 10 s at most.
func waitListening(t testing.TB, addr string, log *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = c.Close()
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pgtest: pgbouncer did not listen on %s: %v\n%s", addr, err, log.String())
		case <-tick.C:
		}
	}
}

// syncBuffer is pgbouncer's output, shown when it fails to start.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
