package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/infra/throwaway"
	"github.com/wuzapi-manager/wuzapi-manager/internal/awstest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/benchproc"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer/csvgen"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// importFigures is what the worker process measured.
type importFigures struct {
	Seconds     float64 `json:"seconds"`
	VmHWMKiB    int64   `json:"vmHWMKiB"`
	CPUSeconds  float64 `json:"cpuSeconds"`  // the worker process's
	PostgresCPU float64 `json:"postgresCPU"` // its database's backends'
}

// BenchmarkImportProcess imports 100,000 and 1,000,000 generated rows from
// the emulated S3 into Postgres as import-worker does, in a child process
// of its own, so its peak RSS (VmHWM) is the worker's alone: kumo, which
// keeps the object in memory, runs in this process. The two sizes show
// whether memory grows with the file. The targets: 1,000,000 rows in at most
// 10 s from the upload to completed, under 150 MiB.
//
// It runs against two servers: pg=machine, the machine's shared Postgres
// (pgtest's, the figures earlier runs compare with), and pg=rds-t4g-medium,
// a throwaway Postgres of its own with the settings of the deployment the
// cost model prices (rdsT4gMedium).
//
// upload-to-completed-s runs from the end of the upload to the import's
// finished_at (the worker process's start included: the child is handed the
// S3 notification as the queue would). worker-cpu-s and postgres-cpu-s are
// the CPU the worker process and the database's backends spent on it, which
// a busy machine changes much less than the wall time; load1 is the load
// average when the import ended.
//
//	go test -run '^$' -bench ImportProcess -benchtime 1x -timeout 30m ./internal/importer/
func BenchmarkImportProcess(b *testing.B) {
	b.Run("pg=machine", func(b *testing.B) {
		for _, n := range []int{100_000, 1_000_000} {
			b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) { benchImportProcess(b, pgtest.NewDatabase(b), n, nil) })
		}
		// A header of 30,000 columns and 1,000 rows as wide: the import fails
		// (its header is over the 64 KiB row bound; a shorter one of more than
		// 200 columns is too_many_columns), and the worker's RSS stays as low.
		b.Run("columns=30000", func(b *testing.B) { benchImportProcess(b, pgtest.NewDatabase(b), 1000, wideCSV(30_000, 1000)) })
	})
	b.Run("pg=rds-t4g-medium", func(b *testing.B) {
		pg := throwaway.StartPostgres(b, append(append([]string{}, throwaway.Durable...), rdsT4gMedium...)...)
		for _, n := range []int{100_000, 1_000_000} {
			b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) { benchImportProcess(b, migratedDatabase(b, pg), n, nil) })
		}
	})
}

// rdsT4gMedium is RDS for PostgreSQL 15's default parameter group on a
// db.t4g.medium (2 vCPU, 4 GiB) where it differs from the machine's
// server: shared_buffers {DBInstanceClassMemory/32768} pages of 8 kB, a
// quarter of the memory (DBInstanceClassMemory is a little under 4 GiB, so
// 1GB is its upper bound), max_wal_size 2 GB, checkpoints every 5 minutes
// spread over 0.9 of the interval. With throwaway.Durable (fsync and full
// page writes on, as RDS has them); the rest is the machine's (autovacuum
// off, max_connections 100, min_wal_size 80MB).
var rdsT4gMedium = []string{"shared_buffers=1GB", "max_wal_size=2GB", "checkpoint_timeout=300s",
	"checkpoint_completion_target=0.9", "autovacuum=off", "max_connections=100", "min_wal_size=80MB"}

// migratedDatabase creates a database of its own on pg, migrated, and
// returns its URL.
func migratedDatabase(b *testing.B, pg *throwaway.Postgres) string {
	b.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("wm_bench_%d", time.Now().UnixNano())
	admin, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		b.Fatal(err)
	}
	if err := postgres.Migrate(ctx, pg.URL(name)); err != nil {
		b.Fatalf("migrate %s: %v", name, err)
	}
	return pg.URL(name)
}

// wideCSV is a CSV of cols columns (phone first): a header and rows rows.
func wideCSV(cols, rows int) []byte {
	var sb strings.Builder
	for r := range rows + 1 {
		for c := range cols {
			if c > 0 {
				sb.WriteByte(',')
			}
			switch {
			case r == 0 && c == 0:
				sb.WriteString("phone")
			case r == 0:
				fmt.Fprintf(&sb, "c%d", c)
			case c == 0:
				fmt.Fprintf(&sb, "55119%08d", r)
			default:
				sb.WriteString("x")
			}
		}
		sb.WriteByte('\n')
	}
	return []byte(sb.String())
}

// benchImportProcess imports rows generated rows, or body when set (which
// must fail as too wide), into the database at dbURL.
func benchImportProcess(b *testing.B, dbURL string, rows int, body []byte) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, dbURL, postgres.Options{MaxConns: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s3b := awstest.NewS3Bucket(b)
	store := blob.New(s3b.Client, s3b.Bucket)
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
		src := csvgen.Reader(rows, 0)
		if body != nil {
			src = bytes.NewReader(body)
		}
		if err := store.Upload(ctx, im.ObjectKey, "text/csv", src); err != nil {
			b.Fatal(err)
		}
		uploaded := time.Now()
		b.StartTimer()
		var f importFigures
		out := benchproc.Run(b, "TestImportWorkerProcess", []string{"IMPORT_WORKER_DB=" + dbURL, "IMPORT_WORKER_S3=" + s3b.Endpoint,
			"IMPORT_WORKER_BUCKET=" + s3b.Bucket, "IMPORT_WORKER_KEY=" + im.ObjectKey}, &f)
		b.StopTimer()
		load := loadAverage(b)
		got, err := db.Import(ctx, tn.ID, im.ID)
		ok := got.Status == importer.StatusCompleted && got.RowsTotal == rows
		if body != nil {
			ok = got.Status == importer.StatusFailed && got.Error != nil &&
				(strings.Contains(*got.Error, "too_many_columns") || strings.Contains(*got.Error, "header is longer"))
		}
		if err != nil || !ok || f.VmHWMKiB == 0 {
			if got.Error != nil {
				b.Logf("import error: %s", *got.Error)
			}
			b.Fatalf("import = %+v (%v), worker figures %+v\n%s", got, err, f, out)
		}
		if got.FinishedAt != nil && body == nil {
			b.ReportMetric(got.FinishedAt.Sub(uploaded).Seconds(), "upload-to-completed-s")
		}
		b.ReportMetric(f.Seconds, "worker-s")
		b.ReportMetric(float64(rows)/f.Seconds, "rows/s")
		b.ReportMetric(f.CPUSeconds, "worker-cpu-s")
		b.ReportMetric(f.PostgresCPU, "postgres-cpu-s")
		b.ReportMetric(float64(f.VmHWMKiB)/1024, "worker-RSS-MiB")
		b.ReportMetric(load, "load1")
		b.StartTimer()
	}
}

// TestImportWorkerProcess is the import worker of BenchmarkImportProcess,
// run in a process of its own; it does nothing unless that benchmark
// started it.
func TestImportWorkerProcess(t *testing.T) {
	dbURL := os.Getenv("IMPORT_WORKER_DB")
	if dbURL == "" {
		return // not started by the benchmark
	}
	ctx := context.Background()
	db, err := postgres.Open(ctx, dbURL, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	client := s3.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")},
		func(o *s3.Options) {
			o.BaseEndpoint = aws.String(os.Getenv("IMPORT_WORKER_S3"))
			o.UsePathStyle = true
			o.DisableLogOutputChecksumValidationSkipped = true
		})
	w := &importer.Worker{Store: postgres.ImportStore{DB: db}, Objects: blob.New(client, os.Getenv("IMPORT_WORKER_BUCKET")), Log: discardLogger()}
	// IMPORT_BENCH_MERGES and IMPORT_BENCH_BATCH try other settings; unset,
	// the worker's defaults.
	w.Merges, _ = strconv.Atoi(os.Getenv("IMPORT_BENCH_MERGES"))
	w.BatchSize, _ = strconv.Atoi(os.Getenv("IMPORT_BENCH_BATCH"))
	dbName := db.Pool.Config().ConnConfig.Database
	pg0 := benchproc.Snapshot(benchproc.PostgresBackends(dbName))
	start, cpu0 := time.Now(), cpuTime()
	if err := w.HandleMessage(ctx, s3Notification(os.Getenv("IMPORT_WORKER_BUCKET"), os.Getenv("IMPORT_WORKER_KEY"))); err != nil {
		t.Fatal(err)
	}
	f := importFigures{Seconds: time.Since(start).Seconds(), CPUSeconds: (cpuTime() - cpu0).Seconds(), VmHWMKiB: benchproc.VmHWM(t)}
	f.PostgresCPU = benchproc.Snapshot(benchproc.PostgresBackends(dbName)).Since(pg0).Seconds()
	benchproc.Report(t, f)
}

// s3Notification is the body of the imports queue's message for an upload
// of key to bucket, as S3 sends it.
func s3Notification(bucket, key string) string {
	ev := map[string]any{"Records": []any{map[string]any{
		"eventName": "ObjectCreated:Put",
		"s3":        map[string]any{"bucket": map[string]any{"name": bucket}, "object": map[string]any{"key": url.QueryEscape(key)}},
	}}}
	j, _ := json.Marshal(ev)
	return string(j)
}

// loadAverage is the machine's load average over the last minute.
func loadAverage(tb testing.TB) float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		tb.Fatalf("read load average: %v", err)
	}
	var v float64
	if _, err := fmt.Sscan(string(b), &v); err != nil {
		tb.Fatalf("read load average %q: %v", b, err)
	}
	return v
}
