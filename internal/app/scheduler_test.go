package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Every scheduler job runs every tick, each with its own budget: a job that
// hangs (WuzAPIs that never answer) is cut off at its budget and fails the
// tick, while the jobs listed after it still run and succeed.
func TestRunJobsGivesEachJobItsBudget(t *testing.T) {
	t.Parallel()
	var ran atomic.Int32
	started := make(chan struct{})
	jobs := []job{
		{name: "hangs", run: func(ctx context.Context) error {
			close(started)
			<-ctx.Done() // ends only at its budget
			return ctx.Err()
		}},
		{name: "alerts", run: func(ctx context.Context) error {
			<-started // runs while the first one hangs, not after it
			ran.Add(1)
			return nil
		}},
		{name: "receipts", run: func(context.Context) error { ran.Add(1); return nil }},
	}
	errs := runJobs(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), jobs, 50*time.Millisecond)
	if ran.Load() != 2 {
		t.Fatalf("%d of the 2 other jobs ran", ran.Load())
	}
	if len(errs) != 1 || !errors.Is(errs[0], context.DeadlineExceeded) || !strings.HasPrefix(errs[0].Error(), "hangs: ") {
		t.Fatalf("errors = %v; want the hanging job's deadline only", errs)
	}
}
