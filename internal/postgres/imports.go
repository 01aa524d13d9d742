package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
)

// Import is a contact import as stored.
type Import struct {
	ID, TenantID, FileName, ObjectKey string
	Status                            string
	RowsTotal, Imported               int
	Updated, Rejected                 int
	BytesTotal                        *int64
	BytesDone                         int64
	RejectedObjectKey, Error          *string
	CreatedAt                         time.Time
	StartedAt, FinishedAt             *time.Time
}

// Progress is the share of the upload read, 0-100 (100 once finished).
func (im Import) Progress() int {
	switch {
	case im.Status == importer.StatusCompleted || im.Status == importer.StatusFailed:
		return 100
	case im.BytesTotal == nil || *im.BytesTotal <= 0:
		return 0
	}
	return min(99, int(100*im.BytesDone / *im.BytesTotal))
}

func scanImport(row pgx.Row) (Import, error) {
	var im Import
	err := row.Scan(&im.ID, &im.TenantID, &im.FileName, &im.ObjectKey, &im.Status, &im.RowsTotal, &im.Imported,
		&im.Updated, &im.Rejected, &im.BytesTotal, &im.BytesDone, &im.RejectedObjectKey, &im.Error,
		&im.CreatedAt, &im.StartedAt, &im.FinishedAt)
	return im, err
}

// CreateImport records a pending import whose upload goes to
// importer.ObjectKey(tenantID, id).
func (db *DB) CreateImport(ctx context.Context, tenantID, fileName string) (Import, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Import{}, fmt.Errorf("new import id: %w", err)
	}
	im, err := scanImport(db.Pool.QueryRow(ctx, db.q("create-import"), id, tenantID, fileName,
		importer.ObjectKey(tenantID, id.String())))
	if err != nil {
		return Import{}, fmt.Errorf("insert import of tenant %s: %w", tenantID, err)
	}
	return im, nil
}

// Import returns the tenant's import with id, or NOT_FOUND.
func (db *DB) Import(ctx context.Context, tenantID, id string) (Import, error) {
	im, err := scanImport(db.Pool.QueryRow(ctx, db.q("get-import"), tenantID, id))
	return im, notFound(err, "import")
}

// Imports returns a page of the tenant's imports, newest first.
func (db *DB) Imports(ctx context.Context, tenantID, after string, limit int) ([]Import, error) {
	rows, err := db.Pool.Query(ctx, db.q("list-imports"), tenantID, nullUUID(after), limit)
	if err != nil {
		return nil, fmt.Errorf("list imports of tenant %s: %w", tenantID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Import, error) { return scanImport(r) })
	if err != nil {
		return nil, fmt.Errorf("list imports of tenant %s: %w", tenantID, err)
	}
	return out, nil
}

func nullUUID(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ImportStore is the importer.Store of the import worker.
type ImportStore struct {
	DB *DB
	// LockTimeout is how long a batch waits for a contact row that another
	// transaction holds before it fails with importer.ErrContended; 3 s
	// when 0.
	LockTimeout time.Duration
}

var _ importer.Store = ImportStore{}

// ClaimImport implements importer.Store.
func (s ImportStore) ClaimImport(ctx context.Context, objectKey string, lease time.Duration) (importer.Job, importer.ClaimResult, error) {
	token, err := uuid.NewRandom()
	if err != nil {
		return importer.Job{}, 0, fmt.Errorf("new claim token: %w", err)
	}
	job := importer.Job{ObjectKey: objectKey, Token: token.String()}
	var status string
	var claimed bool
	var leftMS int64
	err = s.DB.Pool.QueryRow(ctx, s.DB.q("claim-import"), objectKey, job.Token, lease.Milliseconds()).
		Scan(&job.ImportID, &job.TenantID, &job.DefaultCountry, &status, &job.Merged.RowsTotal, &job.Merged.Imported, &job.Merged.Updated, &job.Merged.Rejected, &job.ETag, &job.Header, &claimed, &leftMS)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return importer.Job{}, importer.NotFound, nil
	case err != nil:
		return importer.Job{}, 0, fmt.Errorf("claim import of %s: %w", objectKey, err)
	case claimed:
		return job, importer.Claimed, nil
	case status == importer.StatusRunning:
		return importer.Job{LeaseLeft: time.Duration(leftMS) * time.Millisecond}, importer.Busy, nil
	default:
		return importer.Job{}, importer.Finished, nil
	}
}

// SetImportObject implements importer.Store.
func (s ImportStore) SetImportObject(ctx context.Context, job importer.Job, size int64, etag string, header []string) error {
	return s.fenced(ctx, job, "set-import-object", size, etag, header)
}

// CompleteImport implements importer.Store.
// Its import.completed event is nudged.
func (s ImportStore) CompleteImport(ctx context.Context, job importer.Job, rejectedKey string) error {
	return s.DB.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, s.DB.q("complete-import"), job.ImportID, job.Token, rejectedKey)
		if err != nil {
			return fmt.Errorf("complete import %s: %w", job.ImportID, err)
		}
		if tag.RowsAffected() == 0 {
			return importer.ErrLeaseLost
		}
		if _, err := tx.Exec(ctx, s.DB.q("delete-import-rejects"), job.ImportID); err != nil {
			return fmt.Errorf("drop rejects of import %s: %w", job.ImportID, err)
		}
		return nil
	})
}

// FailImport implements importer.Store. Its import.failed event is nudged.
func (s ImportStore) FailImport(ctx context.Context, job importer.Job, reason string) error {
	tag, err := s.DB.execNudging(ctx, s.DB.q("fail-import"), job.ImportID, job.Token, reason)
	if err != nil {
		return fmt.Errorf("fail-import %s: %w", job.ImportID, err)
	}
	if tag.RowsAffected() == 0 {
		return importer.ErrLeaseLost
	}
	return nil
}

// ReleaseImport implements importer.Store.
func (s ImportStore) ReleaseImport(ctx context.Context, job importer.Job) error {
	return s.fenced(ctx, job, "release-import")
}

func (s ImportStore) fenced(ctx context.Context, job importer.Job, query string, args ...any) error {
	tag, err := s.DB.Pool.Exec(ctx, s.DB.q(query), append([]any{job.ImportID, job.Token}, args...)...)
	if err != nil {
		return fmt.Errorf("%s %s: %w", query, job.ImportID, err)
	}
	if tag.RowsAffected() == 0 {
		return importer.ErrLeaseLost
	}
	return nil
}

// StageBatch implements importer.Store: it merges the batch's contacts and
// stores its rejects in a transaction it leaves open for Commit, so the
// next batch can be staged on another connection meanwhile. Nothing is
// locked on the import itself until Commit.
func (s ImportStore) StageBatch(ctx context.Context, job importer.Job, b importer.Batch) (importer.StagedBatch, error) {
	tx, err := s.DB.Pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin batch of import %s: %w", job.ImportID, err)
	}
	sb := &stagedBatch{db: s.DB, tx: tx, job: job, rejected: len(b.Rejects)}
	if err := sb.fence(ctx, s.lockTimeout()); err != nil {
		sb.Rollback(ctx)
		return nil, err
	}
	if err := sb.write(ctx, b); err != nil {
		sb.Rollback(ctx)
		return nil, contended(err)
	}
	return sb, nil
}

// lockTimeout is how long a batch waits for a contact row another
// transaction holds: 3 s, or ImportStore.LockTimeout.
func (s ImportStore) lockTimeout() time.Duration {
	if s.LockTimeout > 0 {
		return s.LockTimeout
	}
	return 3 * time.Second
}

// contended marks a lock wait that timed out or a deadlock's victim as
// importer.ErrContended.
func contended(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "55P03" || pgErr.Code == "40P01") {
		return fmt.Errorf("%w: %w", importer.ErrContended, err)
	}
	return err
}

// stagedBatch is an open batch transaction (importer.StagedBatch).
type stagedBatch struct {
	db                          *DB
	tx                          pgx.Tx
	job                         importer.Job
	inserted, updated, rejected int
	existing                    int
}

// fence stops a worker that lost its claim before it writes anything; it
// locks nothing, so that two batches can be staged at once. Commit fences
// again, under the import's row lock. It also sets the transaction's
// lock_timeout, and its commit to not wait for the WAL flush (a batch is
// lost in a crash of Postgres only with its counts; completing the import
// flushes them all).
func (sb *stagedBatch) fence(ctx context.Context, lockTimeout time.Duration) error {
	var holds bool
	var timeout, commit string
	if err := sb.tx.QueryRow(ctx, sb.db.q("import-claim-holds"), sb.job.ImportID, sb.job.Token, lockTimeout.Milliseconds()).Scan(&holds, &timeout, &commit); err != nil {
		return fmt.Errorf("check the claim of import %s: %w", sb.job.ImportID, err)
	}
	if !holds {
		return importer.ErrLeaseLost
	}
	return nil
}

func (sb *stagedBatch) write(ctx context.Context, b importer.Batch) error {
	contacts := make([]importer.Contact, len(b.Rows))
	for i, r := range b.Rows {
		contacts[i] = r.Contact
	}
	var err error
	sb.inserted, sb.updated, sb.existing, err = sb.db.mergeContacts(ctx, sb.tx, sb.job.TenantID, &sb.job.ImportID, contacts, b.ExpectNew)
	if err != nil {
		return err
	}
	if len(b.Rejects) > 0 {
		_, err := sb.tx.CopyFrom(ctx, pgx.Identifier{"import_rejects"}, []string{"import_id", "line", "fields", "reason"},
			pgx.CopyFromSlice(len(b.Rejects), func(i int) ([]any, error) {
				r := b.Rejects[i]
				return []any{sb.job.ImportID, r.Line, r.Fields, r.Reason}, nil
			}))
		if err != nil {
			return fmt.Errorf("store rejects of import %s: %w", sb.job.ImportID, err)
		}
	}
	return nil
}

// Commit implements importer.StagedBatch: it adds the batch's counts to the
// import, fenced by the claim token and by the rows committed before it,
// and commits; on any failure the batch is rolled back.
func (sb *stagedBatch) Commit(ctx context.Context, rowsBefore int, bytesDone int64, lease time.Duration) (importer.Counts, error) {
	var c importer.Counts
	err := sb.tx.QueryRow(ctx, sb.db.q("add-import-counts"), sb.job.ImportID, sb.job.Token, sb.inserted, sb.updated, sb.rejected,
		bytesDone, lease.Milliseconds()).Scan(&c.RowsTotal, &c.Imported, &c.Updated, &c.Rejected)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		err = importer.ErrLeaseLost
	case err != nil:
		err = fmt.Errorf("count batch of import %s: %w", sb.job.ImportID, err)
	case c.RowsTotal-sb.inserted-sb.updated-sb.rejected != rowsBefore:
		err = fmt.Errorf("%w: import %s has %d rows merged, this worker expected %d",
			importer.ErrCursorMoved, sb.job.ImportID, c.RowsTotal-sb.inserted-sb.updated-sb.rejected, rowsBefore)
	default:
		err = sb.tx.Commit(ctx)
	}
	if err != nil {
		sb.Rollback(ctx)
		return importer.Counts{}, err
	}
	return c, nil
}

// Existing implements importer.StagedBatch.
func (sb *stagedBatch) Existing() int { return sb.existing }

// Rollback implements importer.StagedBatch.
func (sb *stagedBatch) Rollback(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = sb.tx.Rollback(rctx) // a failed rollback closes the connection, which rolls back too
}

// RejectedRows implements importer.Store.
func (s ImportStore) RejectedRows(ctx context.Context, job importer.Job, fn func(importer.Reject) error) error {
	rows, err := s.DB.Pool.Query(ctx, s.DB.q("import-rejects"), job.ImportID)
	if err != nil {
		return fmt.Errorf("read rejects of import %s: %w", job.ImportID, err)
	}
	defer rows.Close()
	var rj importer.Reject
	_, err = pgx.ForEachRow(rows, []any{&rj.Line, &rj.Fields, &rj.Reason}, func() error { return fn(rj) })
	if err != nil {
		return fmt.Errorf("read rejects of import %s: %w", job.ImportID, err)
	}
	return nil
}

// FailAbandonedImports fails the running imports whose lease ended before
// `before` (their worker died and no retry resumed them) with reason, and
// returns how many.
func (db *DB) FailAbandonedImports(ctx context.Context, before time.Time, reason string) (int, error) {
	tag, err := db.execNudging(ctx, db.q("fail-abandoned-imports"), before, reason)
	if err != nil {
		return 0, fmt.Errorf("fail abandoned imports: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
