package postgres_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wuzapi-manager/wuzapi-manager/internal/blocksock"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// TestBlockingSockets: with Options.BlockingSockets the pool's connections
// are sockets outside the network poller, and what pgx does with
// net.Conn's deadlines still holds: a context's end interrupts a running
// query at once with the context's error and the pool replaces the
// connection, a deadline set before a call fails it, and CheckConn's 1 ms
// probe and Ping leave an idle connection as it was.
func TestBlockingSockets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 1, BlockingSockets: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	// pid is the backend of the pool's one connection, checked to be a
	// blocking socket.
	pid := func(t *testing.T) uint32 {
		t.Helper()
		c, err := db.Pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		if nc := c.Conn().PgConn().Conn(); !isBlocking(nc) {
			t.Fatalf("the pool's connection is a %T, want a *blocksock.Conn", nc)
		}
		return c.Conn().PgConn().PID()
	}

	t.Run("queries", func(t *testing.T) {
		pid(t)
		var sum int64
		var n int
		if err := db.Pool.QueryRow(ctx, "SELECT sum(i), count(*) FROM generate_series(1, $1::int) i", 100000).Scan(&sum, &n); err != nil || n != 100000 || sum != 5000050000 {
			t.Fatalf("sum, count = %d, %d, %v", sum, n, err)
		}
		rows, _ := db.Pool.Query(ctx, "SELECT i, repeat('x', 100) FROM generate_series(1, 100000) i")
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (int, error) {
			var i int
			var s string
			return i, r.Scan(&i, &s)
		})
		if err != nil || len(got) != 100000 || got[99999] != 100000 {
			t.Fatalf("%d rows, %v", len(got), err)
		}
		big := strings.Repeat("y", 8<<20) // larger than the socket's buffers: pgx's slow-write path
		var l int
		if err := db.Pool.QueryRow(ctx, "SELECT length($1::text)", big).Scan(&l); err != nil || l != len(big) {
			t.Fatalf("length = %d, %v", l, err)
		}
	})

	t.Run("a context's deadline ends a running query", func(t *testing.T) {
		before := pid(t)
		qctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := db.Pool.Exec(qctx, "SELECT pg_sleep(30)")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("pg_sleep under a 100 ms context = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the query ended %v after its start, want about 100 ms", d)
		}
		if after := pid(t); after == before {
			t.Errorf("the interrupted connection (backend %d) is still in the pool", before)
		}
		wantOne(t, db.Pool)
	})

	t.Run("a cancel ends a running query", func(t *testing.T) {
		watch, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = watch.Close(ctx) }()
		qctx, cancel := context.WithCancel(ctx)
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := db.Pool.Exec(qctx, "SELECT pg_sleep(30) /* cancel me */")
			done <- err
		}()
		for { // until the query runs
			var n int
			if err := watch.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%cancel me */'").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 1 {
				break
			}
		}
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("the canceled query = %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the canceled query did not end")
		}
		wantOne(t, db.Pool)
	})

	t.Run("CheckConn and Ping keep an idle connection", func(t *testing.T) {
		before := pid(t)
		c, err := db.Pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		pg := c.Conn().PgConn()
		for i := range 3 {
			if err := pg.CheckConn(); err != nil { //nolint:staticcheck // CheckConn's 1 ms deadline is what is tested
				t.Fatalf("CheckConn %d: %v", i, err)
			}
			if err := pg.Ping(ctx); err != nil {
				t.Fatalf("Ping %d: %v", i, err)
			}
		}
		if pg.IsClosed() || pg.PID() != before {
			t.Fatalf("after the probes: closed %v, backend %d; want open, %d", pg.IsClosed(), pg.PID(), before)
		}
		var one int
		if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("query after the probes = %d, %v", one, err)
		}
	})

	t.Run("a deadline set before a call fails it", func(t *testing.T) {
		c, err := db.Pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Conn().PgConn().Conn().SetDeadline(time.Now().Add(-time.Second))
		var one int
		err = c.QueryRow(ctx, "SELECT 1").Scan(&one)
		c.Release()
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("query after a passed deadline = %v, want os.ErrDeadlineExceeded", err)
		}
		wantOne(t, db.Pool)
	})
}

// wantOne runs SELECT 1 on the pool.
func wantOne(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	var one int
	if err := pool.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("the next query = %d, %v; want 1", one, err)
	}
}

func isBlocking(c any) bool {
	_, ok := c.(*blocksock.Conn)
	return ok
}
