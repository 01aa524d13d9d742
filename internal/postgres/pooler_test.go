package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wuzapi-manager/wuzapi-manager/internal/benchproc"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// TestThroughTransactionPooler runs the queries that use transaction state
// (a temporary table dropped at commit, COPY, a transaction advisory lock,
// set_config local to a transaction, batches) through pgbouncer in
// transaction mode, from more client connections than it has server
// connections, so transactions of one client run on several servers.
func TestThroughTransactionPooler(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	direct := pgtest.NewDatabase(t)
	bouncer := pgtest.Pgbouncer(t, direct, 2).URL

	t.Run("named prepared statements break, as the pooled mode must avoid", func(t *testing.T) {
		cfg, err := pgxpool.ParseConfig(bouncer)
		if err != nil {
			t.Fatal(err)
		}
		cfg.MaxConns = 2
		pool, err := pgxpool.NewWithConfig(ctx, cfg) // pgx's default: statements prepared by name
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		a, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Release()
		b, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Release()
		const q = "SELECT count(*) FROM tenants WHERE name = $1"
		var errs []error
		for range 3 {
			for _, c := range []*pgxpool.Conn{a, b} {
				var n int
				errs = append(errs, c.QueryRow(ctx, q, "x").Scan(&n))
			}
		}
		if err := errors.Join(errs...); err == nil {
			t.Fatal("two clients preparing one statement through 2 server connections all succeeded; want the pooler to mix them up (is pool_mode transaction?)")
		} else {
			t.Logf("as expected: %v", err)
		}
	})

	// As the functions open it: pooled, on blocking sockets.
	db, err := postgres.Open(ctx, bouncer, postgres.Options{MaxConns: 8, Pooled: true, BlockingSockets: true})
	if err != nil {
		t.Fatalf("Open through pgbouncer: %v", err)
	}
	t.Cleanup(db.Close)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() { errs <- pooledWork(ctx, db, g) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// pooledWork is one client's round of session-sensitive queries.
func pooledWork(ctx context.Context, db *postgres.DB, g int) error {
	for i := range 5 {
		tn, key, err := db.CreateTenant(ctx, tenant.Tenant{Name: fmt.Sprintf("T%d-%d", g, i), Plan: tenant.PlanFree, DefaultCountry: "BR", Timezone: "UTC"})
		if err != nil {
			return fmt.Errorf("client %d: create tenant: %w", g, err)
		}
		if got, err := db.TenantByAPIKey(ctx, tenant.HashKey(key)); err != nil || got.ID != tn.ID {
			return fmt.Errorf("client %d: tenant by key = %s, %v; want %s", g, got.ID, err, tn.ID)
		}
		var id string
		if err := db.Pool.QueryRow(ctx, "SELECT uuid_v7()::text").Scan(&id); err != nil {
			return err
		}
		// plan-lock: pg_advisory_xact_lock inside the create's transaction.
		if _, err := db.CreateInstanceWithin(ctx, campaign.Instance{ID: id, TenantID: tn.ID, Name: "main", BaseURL: "http://127.0.0.1:1",
			Token: "tok", MessagesPerMinute: 10, HourlyCap: 10, DailyCap: 10, MaxInFlight: 1}, []byte("h"), 5); err != nil {
			return fmt.Errorf("client %d: create instance: %w", g, err)
		}
		// A temporary table ON COMMIT DROP filled by COPY.
		contacts := []importer.Contact{{Phone: fmt.Sprintf("55119%03d%05d", g, i), Name: "A"}, {Phone: fmt.Sprintf("55119%03d%05d", g, i+100), Name: "B"}}
		if ins, _, err := db.UpsertContacts(ctx, tn.ID, contacts); err != nil || ins != 2 {
			return fmt.Errorf("client %d: upsert contacts: inserted %d, %v; want 2", g, ins, err)
		}
	}
	return nil
}

// BenchmarkExecModes costs the status route's statements (the key lookup,
// the campaign, its undelivered count) in each of pgx's statement modes,
// straight to Postgres and through pgbouncer in transaction mode. Beside
// ns/op (the client's wall time) it reports pg-µs/op, the CPU time of the
// Postgres backends (and of pgbouncer, bouncer-µs/op) per operation, read
// from /proc: this machine runs them.
//
//	go test -run '^$' -bench ExecModes -benchtime 3000x ./internal/postgres/
func BenchmarkExecModes(b *testing.B) {
	ctx := context.Background()
	direct := pgtest.NewDatabase(b)
	bouncer := pgtest.Pgbouncer(b, direct, 2)
	db, err := postgres.Open(ctx, direct, postgres.Options{MaxConns: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tn, key, err := db.CreateTenant(ctx, tenant.Tenant{Name: "Bench", Plan: tenant.PlanFree, DefaultCountry: "BR", Timezone: "UTC"})
	if err != nil {
		b.Fatal(err)
	}
	hash := tenant.HashKey(key)
	modes := []struct {
		name string
		mode pgx.QueryExecMode
	}{
		{"cache_statement", pgx.QueryExecModeCacheStatement},
		{"cache_describe", pgx.QueryExecModeCacheDescribe},
		{"describe_exec", pgx.QueryExecModeDescribeExec},
		{"exec", pgx.QueryExecModeExec},
		{"simple_protocol", pgx.QueryExecModeSimpleProtocol},
	}
	for _, via := range []struct{ name, url string }{{"direct", direct}, {"pgbouncer", bouncer.URL}} {
		for _, m := range modes {
			if via.name == "pgbouncer" && m.mode == pgx.QueryExecModeCacheStatement {
				continue // breaks through a transaction pooler (see the test above)
			}
			b.Run(via.name+"/"+m.name, func(b *testing.B) {
				benchMode(b, db, via.url, m.mode, tn.ID, hash, bouncer.PID)
			})
		}
	}
}

func benchMode(b *testing.B, db *postgres.DB, url string, mode pgx.QueryExecMode, tenantID string, hash []byte, bouncerPID int) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 1
	cfg.ConnConfig.DefaultQueryExecMode = mode
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	q := *db
	q.Pool = pool
	op := func() {
		if _, err := q.TenantByAPIKey(ctx, hash); err != nil {
			b.Fatal(err)
		}
		if _, err := q.Campaign(ctx, tenantID, "00000000-0000-7000-8000-000000000000"); err == nil {
			b.Fatal("campaign found")
		}
		if _, err := q.CampaignUndelivered(ctx, tenantID, "00000000-0000-7000-8000-000000000000", time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	for range 20 { // warm the caches, and let Postgres choose its plans
		op()
	}
	dbName := cfg.ConnConfig.Database
	cpu := func() (pg, bouncer time.Duration) {
		return benchproc.CPU(benchproc.PostgresBackends(dbName)...), benchproc.CPU(bouncerPID)
	}
	pg0, bouncer0 := cpu()
	b.ResetTimer()
	for b.Loop() {
		op()
	}
	b.StopTimer()
	pg1, bouncer1 := cpu()
	b.ReportMetric(float64((pg1-pg0).Microseconds())/float64(b.N), "pg-µs/op")
	b.ReportMetric(float64((bouncer1-bouncer0).Microseconds())/float64(b.N), "bouncer-µs/op")
}
