package throwaway_test

import (
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/infra/throwaway"
)

// TestServers: the throwaway Postgres survives a crash restart with its
// committed data, and the Redis a restart with its keys.
func TestServers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pg := throwaway.StartPostgres(t)
	rs := throwaway.StartRedis(t)

	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)
	if err := pg.Restart(ctx, syscall.SIGQUIT); err != nil {
		t.Fatalf("restart postgres: %v", err)
	}
	conn, err = pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v int
	if err := conn.QueryRow(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != 7 {
		t.Fatalf("after the crash restart: %d, %v; want 7", v, err)
	}

	opts, _ := redis.ParseURL(rs.URL())
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.Set(ctx, "kept", "yes", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rs.Restart(ctx); err != nil {
		t.Fatalf("restart redis: %v", err)
	}
	if got, err := rdb.Get(ctx, "kept").Result(); err != nil || got != "yes" {
		t.Fatalf("after the restart: %q, %v; want yes", got, err)
	}
}
