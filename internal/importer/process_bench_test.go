package importer_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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
	Seconds  float64 `json:"seconds"`
	VmHWMKiB int64   `json:"vmHWMKiB"`
}

// BenchmarkImportProcess imports 100,000 and 1,000,000 generated rows from
// the emulated S3 into Postgres as import-worker does, in a child process
// of its own, so its peak RSS (VmHWM) is the worker's alone: kumo, which
// keeps the object in memory, runs in this process. The two sizes show
// whether memory grows with the file. The targets: 1,000,000 rows in
// at most 10 s, under 150 MiB.
//
//	go test -run '^$' -bench ImportProcess -benchtime 1x -timeout 20m ./internal/importer/
func BenchmarkImportProcess(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) { benchImportProcess(b, n, nil) })
	}
	// A header of 30,000 columns and 1,000 rows as wide: the import fails
	// (its header is over the 64 KiB row bound; a shorter one of more than
	// 200 columns is too_many_columns), and the worker's RSS stays as low.
	b.Run("columns=30000", func(b *testing.B) { benchImportProcess(b, 1000, wideCSV(30_000, 1000)) })
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
// must fail as too wide).
func benchImportProcess(b *testing.B, rows int, body []byte) {
	ctx := context.Background()
	url := pgtest.NewDatabase(b)
	db, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 2})
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
		b.StartTimer()
		var f importFigures
		out := benchproc.Run(b, "TestImportWorkerProcess", []string{"IMPORT_WORKER_DB=" + url, "IMPORT_WORKER_S3=" + s3b.Endpoint,
			"IMPORT_WORKER_BUCKET=" + s3b.Bucket, "IMPORT_WORKER_KEY=" + im.ObjectKey}, &f)
		b.StopTimer()
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
		b.ReportMetric(f.Seconds, "worker-s")
		b.ReportMetric(float64(rows)/f.Seconds, "rows/s")
		b.ReportMetric(float64(f.VmHWMKiB)/1024, "worker-RSS-MiB")
		b.StartTimer()
	}
}

// TestImportWorkerProcess is the import worker of BenchmarkImportProcess,
// run in a process of its own; it does nothing unless that benchmark
// started it.
func TestImportWorkerProcess(t *testing.T) {
	url := os.Getenv("IMPORT_WORKER_DB")
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
			o.BaseEndpoint = aws.String(os.Getenv("IMPORT_WORKER_S3"))
			o.UsePathStyle = true
			o.DisableLogOutputChecksumValidationSkipped = true
		})
	w := &importer.Worker{Store: postgres.ImportStore{DB: db}, Objects: blob.New(client, os.Getenv("IMPORT_WORKER_BUCKET")), Log: discardLogger()}
	start := time.Now()
	if err := w.Run(ctx, os.Getenv("IMPORT_WORKER_KEY")); err != nil {
		t.Fatal(err)
	}
	benchproc.Report(t, importFigures{Seconds: time.Since(start).Seconds(), VmHWMKiB: benchproc.VmHWM(t)})
}
