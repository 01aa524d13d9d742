// Package report streams a query's rows into a CSV object (the report-worker
// function): a campaign's recipients or a tenant's contacts.
//
// Rows flow from the Source through the CSV writer into the Sink as they are
// read, so memory does not grow with the row count (a pipe and the Sink's
// part buffers, nothing more). A report is one object at a key fixed by its
// id: a redelivered message rewrites the same object, and a completed report
// is never generated again, so there is never a second object nor a row
// count summed over two runs. It imports no database or AWS package.
package report

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Type is what a report lists.
type Type string

// Report types.
const (
	Campaign Type = "campaign"
	Contacts Type = "contacts"
)

// Valid reports whether t is a known type.
func (t Type) Valid() bool { return t == Campaign || t == Contacts }

// Header is the CSV header of each type (exactly these columns, in this order: clients parse them).
var Header = map[Type][]string{
	Campaign: {"phone", "name", "status", "attempts", "last_error", "message_id", "sent_at", "delivered_at", "read_at",
		"replied_at", "reply"},
	Contacts: {"phone", "name", "attributes", "opted_out_at", "created_at"},
}

// Statuses of a report.
const (
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// AbandonedReason is the error of a report whose worker died and that no
// retry restarted before the scheduler gave up on it.
const AbandonedReason = "the report stopped: its worker ended before finishing and no retry restarted it; ask for a new one"

// ContentType is the object's content type.
const ContentType = "text/csv; charset=utf-8"

// ObjectKey is where a report's CSV lives: one key per report, so a
// redelivery overwrites rather than adds.
func ObjectKey(tenantID, reportID string) string {
	return "reports/" + tenantID + "/" + reportID + ".csv"
}

// Job is a report as the worker reads it.
type Job struct {
	ID         string
	TenantID   string
	Type       Type
	Status     string
	ObjectKey  string
	CampaignID string     // campaign reports
	From, To   *time.Time // contacts reports: created_at in [From, To)
}

// ErrNotFound is returned by Store.Report for an unknown report.
var ErrNotFound = errors.New("report not found")

// Store is the report's row source and state.
type Store interface {
	// Report returns the job with id, or ErrNotFound.
	Report(ctx context.Context, id string) (Job, error)
	// Start marks the job running under a lease (unless it is completed or
	// failed) and returns the number of rows it will have; started is false
	// when the job must not run.
	Start(ctx context.Context, job Job, lease time.Duration) (expectedRows int64, started bool, err error)
	// Renew extends the lease of a running job to lease from now. A job
	// whose lease ended long ago was abandoned (its worker died and no
	// retry came) and is failed by the scheduler.
	Renew(ctx context.Context, id string, lease time.Duration) error
	// Rows calls emit with each row of the job, in order, as it is read;
	// an error from emit stops the query and is returned.
	Rows(ctx context.Context, job Job, emit func(record []string) error) error
	// Progress records the rows written so far.
	Progress(ctx context.Context, id string, rows int64) error
	// Complete marks the job completed with its final row count and size.
	Complete(ctx context.Context, id string, rows, bytes int64) error
	// Fail marks the job failed with a message a tenant may read.
	Fail(ctx context.Context, id, message string) error
}

// Sink stores an object read from body until EOF (a multipart upload).
type Sink interface {
	Upload(ctx context.Context, key, contentType string, body io.Reader) error
}

// Generator runs report jobs.
type Generator struct {
	Store  Store
	Sink   Sink
	Logger *slog.Logger
	// ProgressEvery is how many rows pass between progress updates; 50,000
	// when 0.
	ProgressEvery int64
	// Lease is how long a running job holds without a renewal; the
	// generator renews it every Lease/3 while it writes. 2 minutes when 0.
	Lease time.Duration
}

func (g *Generator) lease() time.Duration {
	if g.Lease > 0 {
		return g.Lease
	}
	return 2 * time.Minute
}

// keepLease renews the job's lease every Lease/3 until the returned stop is
// called. A failed renewal is logged: the job goes on, and at worst the
// scheduler fails it much later as abandoned.
func (g *Generator) keepLease(ctx context.Context, id string) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(g.lease() / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := g.Store.Renew(ctx, id, g.lease()); err != nil && ctx.Err() == nil {
					g.Logger.WarnContext(ctx, "renew report lease", "report_id", id, "error", err.Error())
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// Message is the queue message that asks for a report.
type Message struct {
	V        int    `json:"v"`
	Type     string `json:"type"`
	ReportID string `json:"reportId"`
}

// MessageType is the envelope type of Message.
const MessageType = "report.generate"

// NewMessage is the message for report id.
func NewMessage(id string) Message { return Message{V: 1, Type: MessageType, ReportID: id} }

// HandleMessage runs the job a queue message body names. final says this is
// the last delivery the queue will make (its receive count reached the
// redrive limit): a failure then marks the report failed instead of leaving
// it running for a retry.
func (g *Generator) HandleMessage(ctx context.Context, body string, final bool) error {
	var m Message
	if err := json.Unmarshal([]byte(body), &m); err != nil || m.ReportID == "" {
		return fmt.Errorf("report message without reportId: %q", body)
	}
	return g.Generate(ctx, m.ReportID, final)
}

// Generate writes report id's CSV to its object and records the outcome.
// An unknown, completed or failed report is acknowledged without work.
func (g *Generator) Generate(ctx context.Context, id string, final bool) error {
	job, err := g.Store.Report(ctx, id)
	if errors.Is(err, ErrNotFound) {
		g.Logger.WarnContext(ctx, "report message for an unknown report", "report_id", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("load report %s: %w", id, err)
	}
	if job.Status == StatusCompleted || job.Status == StatusFailed {
		return nil
	}
	expected, started, err := g.Store.Start(ctx, job, g.lease())
	if err != nil {
		return fmt.Errorf("start report %s: %w", id, err)
	}
	if !started {
		return nil
	}
	stop := g.keepLease(ctx, id)
	rows, bytes, err := g.write(ctx, job)
	stop()
	if err != nil {
		if final {
			if ferr := g.Store.Fail(ctx, id, "the report could not be written; ask for a new one"); ferr != nil {
				err = errors.Join(err, ferr)
			}
		}
		return fmt.Errorf("write report %s: %w", id, err)
	}
	if err := g.Store.Complete(ctx, id, rows, bytes); err != nil {
		return fmt.Errorf("complete report %s: %w", id, err)
	}
	g.Logger.InfoContext(ctx, "report completed", "report_id", id, "type", job.Type, "rows", rows, "expected", expected, "bytes", bytes)
	return nil
}

// write streams the job's rows into its object and returns the data rows
// and bytes written.
func (g *Generator) write(ctx context.Context, job Job) (rows, size int64, err error) {
	header, ok := Header[job.Type]
	if !ok {
		return 0, 0, fmt.Errorf("unknown report type %q", job.Type)
	}
	every := g.ProgressEvery
	if every <= 0 {
		every = 50_000
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	counter := &countingWriter{w: pw}
	done := make(chan error, 1)
	go func() {
		buf := bufio.NewWriterSize(counter, 64<<10)
		w := NewWriter(buf)
		err := w.Write(header)
		if err == nil {
			err = g.Store.Rows(ctx, job, func(rec []string) error {
				if err := w.Write(rec); err != nil {
					return err
				}
				rows++
				if rows%every == 0 {
					if err := g.Store.Progress(ctx, job.ID, rows); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			err = buf.Flush()
		}
		_ = pw.CloseWithError(err) // nil closes with EOF
		done <- err
	}()
	upErr := g.Sink.Upload(ctx, job.ObjectKey, ContentType, pr)
	if upErr != nil {
		_ = pr.CloseWithError(upErr) // unblock the writer
		cancel()
	}
	rowErr := <-done
	if upErr != nil {
		return 0, 0, fmt.Errorf("upload %s: %w", job.ObjectKey, upErr)
	}
	if rowErr != nil {
		return 0, 0, fmt.Errorf("read rows: %w", rowErr)
	}
	return rows, counter.n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
