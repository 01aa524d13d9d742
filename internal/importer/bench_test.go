package importer_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer/csvgen"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// BenchmarkParse is the parse + normalise throughput: a generated file read
// in the worker's batches, phones normalised on every core.
func BenchmarkParse(b *testing.B) {
	const rows = 50_000
	b.ReportAllocs()
	var accepted int
	cpu0 := cpuTime()
	for b.Loop() {
		r, err := importer.NewReader(csvgen.Reader(rows, 0), importer.Options{DefaultCountry: "BR"})
		if err != nil {
			b.Fatal(err)
		}
		accepted = 0
		for {
			batch, err := r.ReadBatch(5000)
			accepted += len(batch.Rows)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	if accepted < rows*98/100 {
		b.Fatalf("accepted %d of %d rows", accepted, rows)
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows*b.N)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
}

// cpuTime is this process's user+system CPU time: on a shared machine the
// wall-clock rate depends on the neighbours, the CPU rate much less.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkImport is one whole import from S3 (in-process kumo) into
// Postgres through the worker: IMPORT_BENCH_ROWS rows (100,000 by default),
// a new tenant each iteration so every run inserts. It reports rows/s and
// the peak Go heap during the run. kumo keeps the object in this process's
// heap, so the heap figure includes the file itself.
func BenchmarkImport(b *testing.B) {
	rows := 100_000
	if v, err := strconv.Atoi(os.Getenv("IMPORT_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	ctx := context.Background()
	bd := setup(b)
	bd.worker.BatchSize = 0 // the production default
	bd.worker.Log = discardLogger()
	var peak uint64
	var workerCPU time.Duration
	for b.Loop() {
		b.StopTimer()
		tn, _, err := bd.db.CreateTenant(ctx, tenant.Tenant{Name: "Bench", Plan: tenant.PlanFree, DefaultCountry: "BR", Timezone: "UTC"})
		if err != nil {
			b.Fatal(err)
		}
		im, err := bd.db.CreateImport(ctx, tn.ID, "bench.csv")
		if err != nil {
			b.Fatal(err)
		}
		if err := bd.blob.Upload(ctx, im.ObjectKey, "text/csv", csvgen.Reader(rows, 0)); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		base := heapBytes()
		var runPeak uint64
		stop := sampleHeap(&runPeak)
		c0 := cpuTime()
		b.StartTimer()
		if err := bd.worker.Run(ctx, im.ObjectKey); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		workerCPU += cpuTime() - c0
		stop()
		if runPeak > base && runPeak-base > peak {
			peak = runPeak - base
		}
		got, err := bd.db.Import(ctx, tn.ID, im.ID)
		if err != nil || got.Status != importer.StatusCompleted || got.RowsTotal != rows {
			b.Fatalf("import = %+v, %v; want completed with %d rows", got, err, rows)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows*b.N)/workerCPU.Seconds(), "rows/worker-cpu-s")
	b.ReportMetric(float64(peak)/(1<<20), "heap-growth-MiB")
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sampleHeap records the largest live heap (at the last GC) seen until stop
// is called.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	go func() {
		defer close(finished)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > *peak {
				*peak = v
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
