package postgres_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wuzapi-manager/wuzapi-manager/internal/awstest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/benchproc"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/report"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// workerFigures is what the report worker process measured.
type workerFigures struct {
	Rows      int64   `json:"rows"`
	Seconds   float64 `json:"seconds"`
	VmHWMKiB  int64   `json:"vmHWMKiB"`
	PeakHeapB uint64  `json:"peakHeapBytes"`
}

// BenchmarkContactsReport writes a contacts report of 100,000 and of
// 1,000,000 rows from Postgres to the emulated S3 (kumo) as the report
// worker does, in a child process of its own so its peak RSS (VmHWM) is the
// worker's alone: kumo, which keeps the object in memory, runs in this
// process. The two sizes show that memory does not grow with the row count.
// The target: 1,000,000 rows in at most 10 s under 150 MiB.
//
//	go test -run '^$' -bench ContactsReport -benchtime 1x ./internal/postgres/
func BenchmarkContactsReport(b *testing.B) {
	for _, n := range []int64{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) { benchContactsReport(b, n) })
	}
}

func benchContactsReport(b *testing.B, n int64) {
	ctx := context.Background()
	url := pgtest.NewDatabase(b)
	db, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tn, _, err := db.CreateTenant(ctx, tenant.Tenant{Name: "Big", Plan: tenant.PlanEnterprise, DefaultCountry: "BR", Timezone: "UTC"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO contacts (tenant_id, phone, name, attributes, opted_out_at)
		SELECT $1, (5511900000000 + g)::text, 'Contact ' || g,
		       jsonb_build_object('city', 'São Paulo', 'n', g),
		       CASE WHEN g % 50 = 0 THEN now() END
		FROM generate_series(1, $2::int) AS g`, tn.ID, n); err != nil {
		b.Fatal(err)
	}
	env := awstest.New(b)
	bucket := env.Bucket(b)
	b.ResetTimer()
	for b.Loop() {
		rep, err := db.CreateReport(ctx, tn.ID, report.Contacts, postgres.ReportParams{})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		var f workerFigures
		out := benchproc.Run(b, "TestReportWorkerProcess", []string{"REPORT_WORKER_DB=" + url, "REPORT_WORKER_S3=" + env.URL,
			"REPORT_WORKER_BUCKET=" + bucket, "REPORT_WORKER_ID=" + rep.ID}, &f)
		wall := time.Since(start)
		got, err := db.Report(ctx, tn.ID, rep.ID)
		if err != nil || got.Status != report.StatusCompleted || got.Rows != n || f.Rows != n {
			b.Fatalf("report = %+v (%v), worker figures %+v\n%s", got, err, f, out)
		}
		head, err := env.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(rep.ObjectKey)})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(f.Seconds, "worker-s")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(f.VmHWMKiB)/1024, "worker-RSS-MiB")
		b.ReportMetric(float64(f.PeakHeapB)/(1<<20), "worker-heap-MiB")
		b.ReportMetric(float64(aws.ToInt64(head.ContentLength))/(1<<20), "object-MiB")
		if f.Seconds > 10 || f.VmHWMKiB > 150*1024 {
			b.Errorf("report took %.1f s with %d MiB RSS; the target is at most 10 s and 150 MiB", f.Seconds, f.VmHWMKiB/1024)
		}
	}
}

// TestReportWorkerProcess is the report worker of BenchmarkContactsReport,
// run in a process of its own; it does nothing unless that benchmark
// started it.
func TestReportWorkerProcess(t *testing.T) {
	url := os.Getenv("REPORT_WORKER_DB")
	if url == "" {
		return // not started by the benchmark
	}
	ctx := context.Background()
	db, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	client := s3.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")},
		func(o *s3.Options) {
			o.BaseEndpoint = aws.String(os.Getenv("REPORT_WORKER_S3"))
			o.UsePathStyle = true
			o.DisableLogOutputChecksumValidationSkipped = true
		})
	gen := &report.Generator{Store: postgres.ReportStore{DB: db}, Sink: blob.New(client, os.Getenv("REPORT_WORKER_BUCKET")),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // sample the heap while the report runs
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
	}()
	start := time.Now()
	id := os.Getenv("REPORT_WORKER_ID")
	err = gen.Generate(ctx, id, true)
	secs := time.Since(start).Seconds()
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	if err := db.Pool.QueryRow(ctx, `SELECT rows FROM reports WHERE id = $1`, id).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	benchproc.Report(t, workerFigures{Rows: rows, Seconds: secs, VmHWMKiB: benchproc.VmHWM(t), PeakHeapB: peak})
}
