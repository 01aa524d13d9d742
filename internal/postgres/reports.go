package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/report"
)

// ReportParams are a report's inputs as stored in reports.params.
type ReportParams struct {
	CampaignID string     `json:"campaignId,omitempty"`
	From       *time.Time `json:"from,omitempty"`
	To         *time.Time `json:"to,omitempty"`
}

// Report is a report row.
type Report struct {
	ID           string
	TenantID     string
	Type         report.Type
	Params       ReportParams
	Status       string
	ObjectKey    string
	Rows         int64
	RowsExpected *int64
	Error        string
	CreatedAt    time.Time
	StartedAt    *time.Time
	FinishedAt   *time.Time
}

func scanReport(row pgx.Row) (Report, error) {
	var r Report
	var params []byte
	err := row.Scan(&r.ID, &r.TenantID, &r.Type, &params, &r.Status, &r.ObjectKey, &r.Rows, &r.RowsExpected,
		&r.Error, &r.CreatedAt, &r.StartedAt, &r.FinishedAt)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(params, &r.Params); err != nil {
		return r, fmt.Errorf("decode params of report %s: %w", r.ID, err)
	}
	return r, nil
}

// CreateReport records a pending report of the tenant at its fixed object
// key. A campaign report of a campaign the tenant does not own is NOT_FOUND.
func (db *DB) CreateReport(ctx context.Context, tenantID string, typ report.Type, p ReportParams) (Report, error) {
	if typ == report.Campaign {
		var ok bool
		if err := db.Pool.QueryRow(ctx, db.q("report-campaign-exists"), p.CampaignID, tenantID).Scan(&ok); err != nil {
			return Report{}, fmt.Errorf("check campaign %s: %w", p.CampaignID, err)
		}
		if !ok {
			return Report{}, errcode.New(errcode.NotFound, "campaign not found")
		}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Report{}, fmt.Errorf("new report id: %w", err)
	}
	params, err := json.Marshal(p)
	if err != nil {
		return Report{}, fmt.Errorf("encode report params: %w", err)
	}
	r := Report{ID: id.String(), TenantID: tenantID, Type: typ, Params: p, Status: report.StatusPending,
		ObjectKey: report.ObjectKey(tenantID, id.String())}
	if err := db.Pool.QueryRow(ctx, db.q("create-report"), r.ID, tenantID, string(typ), params, r.ObjectKey).Scan(&r.CreatedAt); err != nil {
		return Report{}, fmt.Errorf("insert report: %w", err)
	}
	return r, nil
}

// DeleteReport removes a pending report (one whose message could not be
// queued), so no report is left pending forever.
func (db *DB) DeleteReport(ctx context.Context, tenantID, id string) error {
	if _, err := db.Pool.Exec(ctx, db.q("delete-report"), id, tenantID); err != nil {
		return fmt.Errorf("delete report %s: %w", id, err)
	}
	return nil
}

// Report returns the tenant's report id, or NOT_FOUND.
func (db *DB) Report(ctx context.Context, tenantID, id string) (Report, error) {
	r, err := scanReport(db.Pool.QueryRow(ctx, db.q("get-report"), id, tenantID))
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("get report %s: %w", id, err)
	}
	return r, notFound(err, "report")
}

// ReportStore is the report worker's store; it implements report.Store.
type ReportStore struct{ DB *DB }

var _ report.Store = ReportStore{}

// Report loads the job, or report.ErrNotFound.
func (s ReportStore) Report(ctx context.Context, id string) (report.Job, error) {
	r, err := scanReport(s.DB.Pool.QueryRow(ctx, s.DB.q("worker-report"), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return report.Job{}, report.ErrNotFound
	}
	if err != nil {
		return report.Job{}, fmt.Errorf("load report %s: %w", id, err)
	}
	return report.Job{ID: r.ID, TenantID: r.TenantID, Type: r.Type, Status: r.Status, ObjectKey: r.ObjectKey,
		CampaignID: r.Params.CampaignID, From: r.Params.From, To: r.Params.To}, nil
}

// Start counts the job's rows and marks it running under lease.
func (s ReportStore) Start(ctx context.Context, job report.Job, lease time.Duration) (int64, bool, error) {
	var n int64
	var err error
	switch job.Type {
	case report.Campaign:
		err = s.DB.Pool.QueryRow(ctx, s.DB.q("count-campaign-report"), job.TenantID, job.CampaignID).Scan(&n)
	case report.Contacts:
		err = s.DB.Pool.QueryRow(ctx, s.DB.q("count-contacts-report"), job.TenantID, job.From, job.To).Scan(&n)
	default:
		return 0, false, fmt.Errorf("unknown report type %q", job.Type)
	}
	if err != nil {
		return 0, false, fmt.Errorf("count rows of report %s: %w", job.ID, err)
	}
	var id string
	err = s.DB.Pool.QueryRow(ctx, s.DB.q("start-report"), job.ID, n, lease.Milliseconds()).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("start report %s: %w", job.ID, err)
	}
	return n, true, nil
}

// Rows streams the job's rows: pgx reads them off the connection as they
// are iterated, so memory stays flat whatever the row count.
func (s ReportStore) Rows(ctx context.Context, job report.Job, emit func([]string) error) error {
	var rows pgx.Rows
	var err error
	switch job.Type {
	case report.Campaign:
		rows, err = s.DB.Pool.Query(ctx, s.DB.q("campaign-report-rows"), job.TenantID, job.CampaignID)
	case report.Contacts:
		rows, err = s.DB.Pool.Query(ctx, s.DB.q("contacts-report-rows"), job.TenantID, job.From, job.To)
	default:
		return fmt.Errorf("unknown report type %q", job.Type)
	}
	if err != nil {
		return fmt.Errorf("query rows of report %s: %w", job.ID, err)
	}
	defer rows.Close()
	var rec []string
	for rows.Next() {
		raw := rows.RawValues() // text columns: the UTF-8 bytes themselves
		rec = rec[:0]
		for _, v := range raw {
			rec = append(rec, string(v))
		}
		if err := emit(rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read rows of report %s: %w", job.ID, err)
	}
	return nil
}

// Renew extends a running report's lease to lease from now.
func (s ReportStore) Renew(ctx context.Context, id string, lease time.Duration) error {
	if _, err := s.DB.Pool.Exec(ctx, s.DB.q("renew-report"), id, lease.Milliseconds()); err != nil {
		return fmt.Errorf("renew lease of report %s: %w", id, err)
	}
	return nil
}

// Progress records the rows written so far.
func (s ReportStore) Progress(ctx context.Context, id string, rows int64) error {
	if _, err := s.DB.Pool.Exec(ctx, s.DB.q("report-progress"), id, rows); err != nil {
		return fmt.Errorf("record progress of report %s: %w", id, err)
	}
	return nil
}

// Complete marks the report completed with its row count and size.
func (s ReportStore) Complete(ctx context.Context, id string, rows, bytes int64) error {
	if _, err := s.DB.Pool.Exec(ctx, s.DB.q("complete-report"), id, rows, bytes); err != nil {
		return fmt.Errorf("complete report %s: %w", id, err)
	}
	return nil
}

// Fail marks the report failed with a tenant-readable message.
func (s ReportStore) Fail(ctx context.Context, id, message string) error {
	if _, err := s.DB.Pool.Exec(ctx, s.DB.q("fail-report"), id, message); err != nil {
		return fmt.Errorf("fail report %s: %w", id, err)
	}
	return nil
}

// FailAbandonedReports fails the running reports whose lease ended before
// `before` (their worker died and no retry restarted them) with reason, and
// returns how many.
func (db *DB) FailAbandonedReports(ctx context.Context, before time.Time, reason string) (int, error) {
	tag, err := db.Pool.Exec(ctx, db.q("fail-abandoned-reports"), before, reason)
	if err != nil {
		return 0, fmt.Errorf("fail abandoned reports: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
