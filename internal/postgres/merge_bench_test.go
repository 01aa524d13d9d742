package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// BenchmarkCommitBatches is the Postgres half of an import alone: MERGE_BENCH_ROWS
// (1,000,000 by default) ready contacts staged and committed in the
// worker's batches into an empty tenant, one after the other on one
// connection (the worker overlaps two).
//
//	go test -run '^$' -bench CommitBatches -benchtime 1x ./internal/postgres/
func BenchmarkCommitBatches(b *testing.B) {
	rows := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("MERGE_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	const batchSize = 5000
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(b), postgres.Options{MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	store := postgres.ImportStore{DB: db}
	attrs := map[string]string{"city": "São Paulo", "plan": "pro"}
	batches := make([]importer.Batch, 0, rows/batchSize+1)
	for lo := 0; lo < rows; lo += batchSize {
		var bt importer.Batch
		for i := lo; i < min(lo+batchSize, rows); i++ {
			bt.Rows = append(bt.Rows, importer.Row{Line: i + 2, Contact: importer.Contact{
				Phone: fmt.Sprintf("55%d9%08d", 11+i%80, i), Name: "Contact " + strconv.Itoa(i), Attributes: attrs}})
		}
		batches = append(batches, bt)
	}
	for b.Loop() {
		b.StopTimer()
		tn, _, err := db.CreateTenant(ctx, tenant.Tenant{Name: "Bench", Plan: tenant.PlanFree, DefaultCountry: "BR", Timezone: "UTC"})
		if err != nil {
			b.Fatal(err)
		}
		im, err := db.CreateImport(ctx, tn.ID, "bench.csv")
		if err != nil {
			b.Fatal(err)
		}
		job, _, err := store.ClaimImport(ctx, im.ObjectKey, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		var c importer.Counts
		for _, bt := range batches {
			if c, err = commitBatch(ctx, store, job, bt, c.RowsTotal, 0, time.Minute); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if c.Imported != rows {
			b.Fatalf("counts %+v, want %d imported", c, rows)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
