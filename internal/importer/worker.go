package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/report"
)

// Import states.
const (
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// AbandonedReason is the error of an import whose worker died and that no
// retry resumed before the scheduler gave up on it.
const AbandonedReason = "the import stopped: its worker ended before finishing and no retry resumed it; upload the file again"

// ObjectPrefix is where uploads that start imports land; the S3
// notification filters on it.
const ObjectPrefix = "imports/"

// DefaultMaxBytes is the largest upload an import reads (design choice: see
// docs/imports.md). A presigned PUT cannot bound the size, so the worker
// checks it before reading anything.
const DefaultMaxBytes = 256 << 20

// ObjectKey is where the upload of an import goes.
func ObjectKey(tenantID, importID string) string {
	return ObjectPrefix + tenantID + "/" + importID + ".csv"
}

// RejectedKey is where the CSV of an import's rejected rows goes; outside
// ObjectPrefix, so writing it starts no import.
func RejectedKey(tenantID, importID string) string {
	return "rejects/" + tenantID + "/" + importID + ".csv"
}

// Job is a claimed import.
type Job struct {
	ImportID       string
	TenantID       string
	ObjectKey      string
	DefaultCountry string
	// Token fences the claim: every write of the job names it, and a worker
	// whose lease was taken over can no longer write.
	Token string
	// Merged are the counts of the records already merged by an earlier,
	// interrupted claim: the job resumes after Merged.RowsTotal records.
	Merged Counts
	// ETag is the object's ETag recorded by the first claim ("" before).
	ETag string
	// Header is the file's header as recorded by the first claim.
	Header []string
	// LeaseLeft is, for a Busy claim, how long the holder's lease still
	// runs.
	LeaseLeft time.Duration
}

// Counts are an import's row counts; Imported+Updated+Rejected = RowsTotal.
type Counts struct {
	RowsTotal, Imported, Updated, Rejected int
}

// ClaimResult says what a claim found.
type ClaimResult int

// Claim outcomes.
const (
	Claimed  ClaimResult = iota // the caller runs the job
	NotFound                    // no import has this object key
	Finished                    // already completed or failed: nothing to do
	Busy                        // another worker holds a live lease
)

// StagedBatch is a batch written in an open transaction.
type StagedBatch interface {
	// Commit adds the batch's counts to the import and commits, renewing the
	// lease. It is fenced by the claim token (ErrLeaseLost) and by
	// rowsBefore, the rows the caller knows merged before this batch
	// (ErrCursorMoved). It returns the import's counts after the batch; on
	// an error the batch is rolled back.
	Commit(ctx context.Context, rowsBefore int, bytesDone int64, lease time.Duration) (Counts, error)
	// Existing is how many of the batch's contacts were already stored
	// (a phone repeated within the batch is not counted).
	Existing() int
	// Rollback abandons the batch.
	Rollback(ctx context.Context)
}

// ErrLeaseLost is returned by Store writes fenced by a token that no longer
// holds the import.
var ErrLeaseLost = errors.New("the import's lease was taken over")

// ErrCursorMoved is returned by StagedBatch.Commit when the import's merged
// rows are not those the worker counted on; a retry resumes from the
// stored cursor.
var ErrCursorMoved = errors.New("the import's merged rows moved")

// ErrContended is returned by Store.StageBatch when the batch waited too
// long for rows another transaction holds, or Postgres chose it as the
// victim of a deadlock; nothing of the batch was written. Another import of
// the same tenant, or an API upsert, naming the same phones can cause it.
var ErrContended = errors.New("the batch waited too long for contacts another transaction holds")

// ErrObjectNotFound and ErrObjectChanged are returned by Objects.Open.
var (
	ErrObjectNotFound = errors.New("object not found")
	ErrObjectChanged  = errors.New("object changed")
)

// Store is the persistence an import needs (postgres implements it).
type Store interface {
	// ClaimImport moves the import of objectKey from pending (or running
	// with an expired lease) to running under a new token and lease.
	ClaimImport(ctx context.Context, objectKey string, lease time.Duration) (Job, ClaimResult, error)
	// SetImportObject records the object's size, ETag and header on the
	// first claim.
	SetImportObject(ctx context.Context, job Job, size int64, etag string, header []string) error
	// StageBatch merges a batch's rows into contacts and stores its rejects
	// in a transaction it leaves open: the batch counts once its Commit
	// succeeds. The worker stages the next batches while the one before
	// them is committed, on other connections, and commits in file order.
	// A batch that waits too long for a row lock fails with ErrContended
	// rather than wait on: a batch staged and waiting for its turn to commit
	// holds its rows, and Postgres cannot see that wait to break it.
	StageBatch(ctx context.Context, job Job, b Batch) (StagedBatch, error)
	// RejectedRows calls fn for every stored reject of the import, in file order.
	RejectedRows(ctx context.Context, job Job, fn func(Reject) error) error
	// CompleteImport marks the import completed (with the key of its rejected
	// rows' CSV, or "") and drops its stored rejects.
	CompleteImport(ctx context.Context, job Job, rejectedKey string) error
	// FailImport marks the import failed with a reason a client may read.
	FailImport(ctx context.Context, job Job, reason string) error
	// ReleaseImport ends the lease early so a retry may resume at once.
	ReleaseImport(ctx context.Context, job Job) error
}

// Object is an opened upload.
type Object struct {
	Body io.ReadCloser
	Size int64
	ETag string
}

// Objects is the object storage an import needs (blob implements it).
type Objects interface {
	// Open streams key; with ifMatch set, an object whose ETag differs is
	// ErrObjectChanged. A missing key is ErrObjectNotFound.
	Open(ctx context.Context, key, ifMatch string) (Object, error)
	// Upload stores the stream r at key.
	Upload(ctx context.Context, key, contentType string, r io.Reader) error
}

// RowCounter counts rows by result ("imported", "updated", "rejected"):
// the import_rows_total metric.
type RowCounter interface {
	Add(result string, n int)
}

// RowCounterFunc adapts a function to RowCounter.
type RowCounterFunc func(result string, n int)

// Add implements RowCounter.
func (f RowCounterFunc) Add(result string, n int) { f(result, n) }

// Worker runs imports from S3 notifications.
type Worker struct {
	Store   Store
	Objects Objects
	Log     *slog.Logger
	Rows    RowCounter // may be nil
	// BatchSize is the records per merge; 10,000 when 0. Postgres's cost
	// per batch is large: 5,000 took 22 s of its CPU for 1,000,000 rows,
	// 10,000 18 s, 20,000 15.5 s, but the worker's peak RSS grows with it
	// (71, 100, 162 MiB), and the bound is 150 MiB.
	BatchSize int
	// Lease is how long a claim holds without a batch committing; 2 minutes
	// when 0.
	Lease time.Duration
	// MaxBytes is the largest object read; DefaultMaxBytes when 0.
	MaxBytes int64
	// Workers normalise phones in parallel; see Options.Workers.
	Workers int
	// Merges is how many batches are merged at once, each in its own
	// transaction on its own connection (the Store's pool must hold that
	// many); 2 when 0.
	Merges int
	// Uploads handle the bucket's other uploads the same notifications
	// carry, by key prefix (media checks under "media/"); a key under none
	// of them and outside ObjectPrefix is ignored.
	Uploads map[string]UploadHandler
}

// UploadHandler handles the upload of one object key. An error means the
// notification should be delivered again.
type UploadHandler interface {
	Run(ctx context.Context, key string) error
}

// s3Event is the part of an S3 notification the worker reads.
type s3Event struct {
	Event   string `json:"Event"` // "s3:TestEvent" on the test message S3 sends
	Records []struct {
		EventName string `json:"eventName"`
		S3        struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key  string `json:"key"`
				Size int64  `json:"size"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
}

// ErrBadMessage marks a message that is not an S3 notification; it is never
// going to succeed, so the queue's redrive moves it to the DLQ.
var ErrBadMessage = errors.New("not an S3 notification")

// ErrBusy means another worker is running the import; the message is
// retried once that worker's lease has ended (BusyError.RetryAfter).
var ErrBusy = errors.New("the import is running in another worker")

// BusyError is ErrBusy with the time the holder's lease still runs. If the
// holder died, the retry after it resumes the import; if it lives, the
// retry finds the import busy again or finished.
type BusyError struct{ LeaseLeft time.Duration }

func (e BusyError) Error() string {
	return fmt.Sprintf("%s (its lease ends in %s)", ErrBusy, e.LeaseLeft.Round(time.Second))
}

// Is makes errors.Is(err, ErrBusy) hold.
func (e BusyError) Is(target error) bool { return target == ErrBusy }

// RetryAfter is when the message should come back: just after the lease.
func (e BusyError) RetryAfter() time.Duration { return e.LeaseLeft + time.Second }

// Message is one queue message.
type Message struct {
	ID, Body string
}

// HandleBatch handles each message on its own and returns the ids of those
// to deliver again (the batch's partial failures) with their errors,
// logging why.
func (w *Worker) HandleBatch(ctx context.Context, msgs []Message) (retry map[string]error) {
	retry = map[string]error{}
	for _, m := range msgs {
		if err := w.HandleMessage(ctx, m.Body); err != nil {
			w.Log.ErrorContext(ctx, "import message failed", "message_id", m.ID, "error", err.Error())
			retry[m.ID] = err
		}
	}
	return retry
}

// HandleMessage handles one SQS message body from the imports queue. It
// returns nil when the message is done with (imported, already imported,
// failed for a reason in the file, or naming no import) and an error when it
// should be delivered again.
func (w *Worker) HandleMessage(ctx context.Context, body string) error {
	var ev s3Event
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		return fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	if ev.Event == "s3:TestEvent" {
		w.Log.InfoContext(ctx, "s3 test event acknowledged")
		return nil
	}
	if len(ev.Records) == 0 {
		return fmt.Errorf("%w: no Records", ErrBadMessage)
	}
	var errs []error
	for _, rec := range ev.Records {
		// AWS names the event "ObjectCreated:Put"; kumo "s3:ObjectCreated:Put".
		if !strings.HasPrefix(strings.TrimPrefix(rec.EventName, "s3:"), "ObjectCreated:") {
			w.Log.InfoContext(ctx, "s3 event ignored", "event", rec.EventName)
			continue
		}
		// S3 form-encodes keys in notifications ('+' for a space); kumo also
		// escapes '/'. QueryUnescape reads both.
		key, err := url.QueryUnescape(rec.S3.Object.Key)
		if err != nil {
			w.Log.WarnContext(ctx, "s3 event with an undecodable key ignored", "key", rec.S3.Object.Key)
			continue
		}
		if err := w.runKey(ctx, key); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// runKey imports an object under ObjectPrefix and hands any other to the
// upload handler of its prefix.
func (w *Worker) runKey(ctx context.Context, key string) error {
	if strings.HasPrefix(key, ObjectPrefix) {
		if err := w.Run(ctx, key); err != nil {
			return fmt.Errorf("import of %s: %w", key, err)
		}
		return nil
	}
	for prefix, h := range w.Uploads {
		if strings.HasPrefix(key, prefix) {
			if err := h.Run(ctx, key); err != nil {
				return fmt.Errorf("upload %s: %w", key, err)
			}
			return nil
		}
	}
	w.Log.InfoContext(ctx, "object outside imports/ ignored", "key", key)
	return nil
}

func (w *Worker) batchSize() int {
	if w.BatchSize > 0 {
		return w.BatchSize
	}
	return 10_000
}

func (w *Worker) merges() int {
	if w.Merges > 0 {
		return w.Merges
	}
	return 2
}

func (w *Worker) lease() time.Duration {
	if w.Lease > 0 {
		return w.Lease
	}
	return 2 * time.Minute
}

func (w *Worker) maxBytes() int64 {
	if w.MaxBytes > 0 {
		return w.MaxBytes
	}
	return DefaultMaxBytes
}

// Run imports the object at key. It returns nil when the import ended
// (completed, failed for a reason recorded on it, or no import has this
// key) and an error when it should be tried again.
func (w *Worker) Run(ctx context.Context, key string) error {
	job, res, err := w.Store.ClaimImport(ctx, key, w.lease())
	if err != nil {
		return fmt.Errorf("claim: %w", err)
	}
	log := w.Log.With("object_key", key)
	switch res {
	case NotFound:
		log.WarnContext(ctx, "uploaded object has no import; ignored")
		return nil
	case Finished:
		log.InfoContext(ctx, "import already finished; event ignored")
		return nil
	case Busy:
		return BusyError{LeaseLeft: job.LeaseLeft}
	}
	log = log.With("import_id", job.ImportID, "tenant_id", job.TenantID)
	if job.Merged.RowsTotal > 0 {
		log.InfoContext(ctx, "resuming import", "rows_done", job.Merged.RowsTotal)
	}
	err = w.run(ctx, job, log)
	var fail failure
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fail):
		log.InfoContext(ctx, "import failed", "reason", fail.reason)
		if ferr := w.Store.FailImport(ctx, job, fail.reason); ferr != nil && !errors.Is(ferr, ErrLeaseLost) {
			return fmt.Errorf("record failure %q: %w", fail.reason, ferr)
		}
		return nil
	case errors.Is(err, ErrLeaseLost):
		log.WarnContext(ctx, "import taken over by another worker")
		return nil
	default:
		// Transient (S3 or Postgres): free the lease so the retry resumes
		// after the last merged batch instead of waiting for it to expire.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if rerr := w.Store.ReleaseImport(rctx, job); rerr != nil {
			log.WarnContext(ctx, "release import lease", "error", rerr.Error())
		}
		return err
	}
}

// failure is an import that cannot succeed, with the reason for the client.
type failure struct{ reason string }

func (f failure) Error() string { return f.reason }

func fail(format string, args ...any) error { return failure{fmt.Sprintf(format, args...)} }

// run imports job's object: open it, read its header, skip the rows an
// earlier run merged, then merge the rest batch by batch.
func (w *Worker) run(ctx context.Context, job Job, log *slog.Logger) error {
	obj, err := w.open(ctx, job)
	if err != nil {
		return err
	}
	defer obj.Body.Close()
	r, err := w.startReading(ctx, &job, obj, log)
	if err != nil {
		return err
	}
	return w.mergeAll(ctx, job, r)
}

// open opens the uploaded object, the one the import was created for.
func (w *Worker) open(ctx context.Context, job Job) (Object, error) {
	obj, err := w.Objects.Open(ctx, job.ObjectKey, job.ETag)
	switch {
	case errors.Is(err, ErrObjectNotFound):
		return Object{}, fail("the uploaded file is gone")
	case errors.Is(err, ErrObjectChanged):
		return Object{}, fail("the uploaded file was replaced while it was being imported; create a new import")
	case err != nil:
		return Object{}, fmt.Errorf("open object: %w", err)
	}
	if obj.Size > w.maxBytes() {
		_ = obj.Body.Close()
		return Object{}, fail("the file is %d bytes; the limit is %d bytes", obj.Size, w.maxBytes())
	}
	return obj, nil
}

// startReading reads the object's header, records the object on the first
// run (job gets its header), and skips the rows earlier runs merged.
func (w *Worker) startReading(ctx context.Context, job *Job, obj Object, log *slog.Logger) (*Reader, error) {
	r, err := NewReader(obj.Body, Options{DefaultCountry: job.DefaultCountry, Workers: w.Workers})
	switch {
	case errors.Is(err, ErrEmpty), errors.Is(err, ErrNotCSV), errors.Is(err, ErrNoPhoneColumn), errors.Is(err, ErrTooManyColumns):
		return nil, fail("%s", err.Error())
	case err != nil:
		return nil, fmt.Errorf("read header: %w", err)
	}
	if job.ETag == "" {
		job.Header = r.Header()
		if err := w.Store.SetImportObject(ctx, *job, obj.Size, obj.ETag, job.Header); err != nil {
			return nil, fmt.Errorf("record object: %w", err)
		}
	}
	log.InfoContext(ctx, "import reading", "encoding_guess", r.Encoding(), "delimiter", string(r.Delimiter()), "size", obj.Size)

	for skipped := 0; skipped < job.Merged.RowsTotal; {
		n, err := r.Skip(min(w.batchSize(), job.Merged.RowsTotal-skipped))
		skipped += n
		if err != nil && (!errors.Is(err, io.EOF) || skipped < job.Merged.RowsTotal) {
			return nil, fmt.Errorf("skip %d merged rows (at %d): %w", job.Merged.RowsTotal, skipped, err)
		}
	}
	return r, nil
}

// readBatch is a batch read ahead, with the bytes read so far.
type readBatch struct {
	b     Batch
	bytes int64
	err   error
}

// readAhead reads batches from r into the returned channel, one ahead of
// the merge, so parsing and Postgres run side by side. It stops after the
// first error (io.EOF included) or when ctx is done.
func (w *Worker) readAhead(ctx context.Context, r *Reader) <-chan readBatch {
	batches := make(chan readBatch, 1)
	go func() {
		defer close(batches)
		for {
			b, err := r.ReadBatch(w.batchSize())
			select {
			case batches <- readBatch{b, r.BytesRead(), err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return batches
}

// mergeAll merges r's batches until the object ends (then finishes the
// import), a row is too large, or too little of the invocation is left.
func (w *Worker) mergeAll(ctx context.Context, job Job, r *Reader) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := w.readAhead(rctx, r)
	m := &merger{w: w, job: job, counts: job.Merged}
	defer m.abandon(ctx)
	for n := range batches {
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < w.reserve() {
			if err := m.flush(ctx); err != nil {
				return err
			}
			return fmt.Errorf("%w after %d rows; a retry resumes", errOutOfTime, m.counts.RowsTotal)
		}
		if n.b.Len() > 0 {
			if err := m.add(ctx, n.b, n.bytes); err != nil {
				return err
			}
		}
		if n.err == nil {
			continue
		}
		if err := m.flush(ctx); err != nil {
			return err
		}
		switch {
		case errors.Is(n.err, io.EOF):
			return w.finish(ctx, job, m.counts)
		case errors.Is(n.err, ErrRecordTooLarge):
			return fail("%s; the %d rows before it were imported", n.err.Error(), m.counts.RowsTotal)
		default:
			return fmt.Errorf("read object: %w", n.err)
		}
	}
	return ctx.Err()
}

// errOutOfTime stops a run that could not finish a batch before the
// invocation's deadline; the lease is released and the retry resumes.
var errOutOfTime = errors.New("stopped before the invocation deadline")

// reserve is the time left at which no new batch is started.
func (w *Worker) reserve() time.Duration { return 15 * time.Second }

func (w *Worker) count(after, before Counts) {
	if w.Rows == nil {
		return
	}
	w.Rows.Add("imported", after.Imported-before.Imported)
	w.Rows.Add("updated", after.Updated-before.Updated)
	w.Rows.Add("rejected", after.Rejected-before.Rejected)
}

func lastLine(b Batch) int {
	line := 0
	if n := len(b.Rows); n > 0 {
		line = b.Rows[n-1].Line
	}
	if n := len(b.Rejects); n > 0 && b.Rejects[n-1].Line > line {
		line = b.Rejects[n-1].Line
	}
	return line
}

// finish writes the rejected rows' CSV (when any) and completes the import.
func (w *Worker) finish(ctx context.Context, job Job, c Counts) error {
	key := ""
	if c.Rejected > 0 {
		key = RejectedKey(job.TenantID, job.ImportID)
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(w.writeRejects(ctx, job, pw)) }()
		err := w.Objects.Upload(ctx, key, "text/csv; charset=utf-8", pr)
		_ = pr.CloseWithError(err) // stops the writer when the upload failed
		if err != nil {
			return fmt.Errorf("upload rejected rows: %w", err)
		}
	}
	if err := w.Store.CompleteImport(ctx, job, key); err != nil {
		return fmt.Errorf("complete: %w", err)
	}
	return nil
}

// writeRejects writes the rejected rows as CSV: the file's header and each
// row's fields as read, with the row's line and the reason appended; every
// cell neutralised against formulas as reports are.
func (w *Worker) writeRejects(ctx context.Context, job Job, out io.Writer) error {
	cw := report.NewWriter(out)
	width := len(job.Header)
	if err := cw.Write(append(append([]string(nil), job.Header...), "line", "reason")); err != nil {
		return err
	}
	err := w.Store.RejectedRows(ctx, job, func(rj Reject) error {
		rec := make([]string, max(width, len(rj.Fields)), max(width, len(rj.Fields))+2)
		copy(rec, rj.Fields)
		return cw.Write(append(rec, strconv.Itoa(rj.Line), rj.Reason))
	})
	if err != nil {
		return fmt.Errorf("read rejected rows: %w", err)
	}
	return cw.Flush()
}
