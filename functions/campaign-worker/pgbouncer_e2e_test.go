package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/wuzapi-manager/wuzapi-manager/infra/local"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
)

// bouncerPool is the server connections the test's pgbouncer opens: far
// fewer than the functions' pools add up to, so they must share them.
const bouncerPool = 3

// TestThroughPgbouncer runs the real api, campaign-worker and scheduler
// binaries with DATABASE_URL pointing at pgbouncer in transaction mode
// (DATABASE_POOLER=transaction), while the platform migrates straight
// against Postgres: a campaign is created through the API, sent exactly
// once per recipient by the worker, and its status read back, with every
// function's statement going through the pooler's few server connections.
func TestThroughPgbouncer(t *testing.T) {
	var bouncer pgtest.Bouncer
	e := startE2EWith(t, func(cfg *local.Config) {
		bouncer = pgtest.Pgbouncer(t, cfg.DatabaseURL, bouncerPool)
		cfg.Parameters["DatabaseUrl"] = bouncer.URL
		cfg.Parameters["DatabasePooler"] = "transaction"
		cfg.Concurrency = 3
	})
	ctx := t.Context()

	ps := phonesE2E(7, 60)
	ids := make([]string, 3)
	for i := range ids {
		ids[i] = e.create(t, fmt.Sprintf("{Oi|Olá} lote %d", i), toAny(ps[i*20:(i+1)*20]), nil)
	}
	var backends int
	eventually(t, 90*time.Second, "three campaigns completed", func() bool {
		var n int
		if err := e.db.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`).Scan(&n); err == nil {
			backends = max(backends, n)
		}
		for _, id := range ids {
			if st, _ := e.state(t, id); st != "completed" {
				return false
			}
		}
		return true
	})
	assertOnce(t, e.fake, ps)
	for _, id := range ids {
		_, out := e.call(t, "GET", "/v1/campaigns/"+id+"/status", e.key, nil, 200)
		d := out["data"].(map[string]any)
		if d["progress"] != 100.0 || d["result"].(map[string]any)["processed"] != 20.0 {
			t.Fatalf("status of %s = %v, want 20 processed", id, d)
		}
	}
	// The pooler's server connections plus this test's own.
	if backends > bouncerPool+1 {
		t.Errorf("up to %d backends on the database while sending, want at most %d: a function bypassed pgbouncer", backends, bouncerPool+1)
	}
	if xacts := bouncerTransactions(t, bouncer.URL); xacts < int64(len(ps)) {
		t.Errorf("pgbouncer carried %d transactions, want at least one per send (%d)", xacts, len(ps))
	}
}

// bouncerTransactions is the total_xact_count of the database behind url
// from pgbouncer's SHOW STATS (its admin console speaks only the simple
// protocol).
func bouncerTransactions(t *testing.T, url string) int64 {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	db := cfg.Database
	cfg.Database = "pgbouncer"
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgbouncer admin console: %v", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SHOW STATS")
	if err != nil {
		t.Fatalf("SHOW STATS: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		fields := rows.FieldDescriptions()
		row := map[string]any{}
		for i, f := range fields {
			row[f.Name] = vals[i]
		}
		if row["database"] == db {
			switch v := row["total_xact_count"].(type) {
			case int64:
				return v
			case pgtype.Numeric:
				if n, err := v.Int64Value(); err == nil && n.Valid {
					return n.Int64
				}
			}
			t.Fatalf("SHOW STATS total_xact_count = %#v, want a whole number", row["total_xact_count"])
		}
	}
	t.Fatalf("SHOW STATS has no row for %s", db)
	return 0
}
