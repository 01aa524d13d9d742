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

// TestDurableSettings: settings passed to StartPostgres replace the
// throwaway defaults of the same name (fsync, full_page_writes,
// shared_buffers), which the defaults keep for everyone else.
func TestDurableSettings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, c := range []struct {
		settings []string
		want     map[string]string
	}{
		{nil, map[string]string{"fsync": "off", "full_page_writes": "off", "shared_buffers": "64MB"}},
		{append(append([]string{}, throwaway.Durable...), "shared_buffers=96MB"),
			map[string]string{"fsync": "on", "full_page_writes": "on", "shared_buffers": "96MB"}},
	} {
		pg := throwaway.StartPostgres(t, c.settings...)
		conn, err := pgx.Connect(ctx, pg.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range c.want {
			var got string
			if err := conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&got); err != nil || got != want {
				t.Errorf("settings %q: %s = %q, %v; want %q", c.settings, name, got, err, want)
			}
		}
		_ = conn.Close(ctx)
	}
}
