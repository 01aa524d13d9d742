package postgres_test

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wuzapi-manager/wuzapi-manager/internal/awstest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/report"
)

type reportEnv struct {
	db     *postgres.DB
	s3     *awstest.Env
	bucket string
	gen    *report.Generator
}

func newReportEnv(t *testing.T) reportEnv {
	t.Helper()
	db := pgtest.NewDB(t)
	env := awstest.New(t)
	bucket := env.Bucket(t)
	return reportEnv{db: db, s3: env, bucket: bucket, gen: &report.Generator{
		Store:  postgres.ReportStore{DB: db},
		Sink:   blob.New(env.S3, bucket),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}}
}

func (e reportEnv) object(t *testing.T, key string) [][]string {
	t.Helper()
	out, err := e.s3.S3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	recs, err := csv.NewReader(out.Body).ReadAll()
	if err != nil {
		t.Fatalf("read %s as CSV: %v", key, err)
	}
	return recs
}

func TestCampaignReport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newReportEnv(t)
	statuses := []string{"sent", "delivered", "read", "failed", "pending", "skipped", "unknown", "sending"}
	var all []string
	for i := range 20 {
		all = append(all, statuses[i%len(statuses)])
	}
	f := newCampaign(t, e.db, all...)
	if _, err := e.db.Pool.Exec(ctx, `UPDATE campaign_recipients SET last_error = '=HYPERLINK("http://evil")', delivered_at = sent_at,
		replied_at = sent_at + interval '1 hour', reply = '=1+1, quero'
		WHERE campaign_id = $1 AND seq = 1`, f.campaignID); err != nil {
		t.Fatal(err)
	}
	other := newCampaign(t, e.db, "sent")
	if _, err := e.db.CreateReport(ctx, other.tenantID, report.Campaign, postgres.ReportParams{CampaignID: f.campaignID}); !errors.Is(err, errcode.ErrNotFound) {
		t.Fatalf("report of another tenant's campaign: err = %v, want NOT_FOUND", err)
	}
	r, err := e.db.CreateReport(ctx, f.tenantID, report.Campaign, postgres.ReportParams{CampaignID: f.campaignID})
	if err != nil {
		t.Fatal(err)
	}
	if r.ObjectKey != "reports/"+f.tenantID+"/"+r.ID+".csv" || r.Status != "pending" {
		t.Fatalf("created %+v", r)
	}
	for range 2 { // a redelivered message changes nothing
		if err := e.gen.Generate(ctx, r.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.db.Report(ctx, f.tenantID, r.ID)
	if err != nil || got.Status != "completed" || got.Rows != 20 || got.RowsExpected == nil || *got.RowsExpected != 20 || got.FinishedAt == nil {
		t.Fatalf("report = %+v, %v", got, err)
	}
	recs := e.object(t, r.ObjectKey)
	if len(recs) != 21 || strings.Join(recs[0], ",") != "phone,name,status,attempts,last_error,message_id,sent_at,delivered_at,read_at,replied_at,reply" {
		t.Fatalf("CSV has %d records, header %v", len(recs), recs[0])
	}
	for i, rec := range recs[1:] {
		if rec[0] != phone(i) || rec[2] != all[i] {
			t.Errorf("row %d = %v, want phone %s status %s", i, rec, phone(i), all[i])
		}
	}
	if row := recs[2]; row[4] != `'=HYPERLINK("http://evil")` || row[6] != "2026-11-25T12:00:00Z" || row[7] != "2026-11-25T12:00:00Z" || row[5] != f.msg(1) ||
		row[9] != "2026-11-25T13:00:00Z" || row[10] != "'=1+1, quero" {
		t.Errorf("row 1 = %q: want neutralised error and reply, RFC 3339 times and the message id", row)
	}
	if _, err := e.db.Report(ctx, other.tenantID, r.ID); !errors.Is(err, errcode.ErrNotFound) {
		t.Fatalf("another tenant reads the report: %v", err)
	}
}

func TestContactsReportRange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newReportEnv(t)
	f := newCampaign(t, e.db)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 10, 0, 0, 0, time.UTC) }
	for i, d := range []int{1, 2, 3, 4} {
		if _, err := e.db.Pool.Exec(ctx, `INSERT INTO contacts (tenant_id, phone, name, attributes, created_at, opted_out_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, f.tenantID, phone(i), "+cmd", `{"city":"São Paulo"}`, day(d), map[bool]any{true: day(5), false: nil}[i == 1]); err != nil {
			t.Fatal(err)
		}
	}
	from, to := day(2), day(4)
	r, err := e.db.CreateReport(ctx, f.tenantID, report.Contacts, postgres.ReportParams{From: &from, To: &to})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.gen.Generate(ctx, r.ID, false); err != nil {
		t.Fatal(err)
	}
	recs := e.object(t, r.ObjectKey)
	want := [][]string{
		{"phone", "name", "attributes", "opted_out_at", "created_at"},
		{phone(1), "'+cmd", `{"city": "São Paulo"}`, "2026-11-05T10:00:00Z", "2026-11-02T10:00:00Z"},
		{phone(2), "'+cmd", `{"city": "São Paulo"}`, "", "2026-11-03T10:00:00Z"},
	}
	if len(recs) != len(want) {
		t.Fatalf("records = %q, want %q", recs, want)
	}
	for i := range want {
		if strings.Join(recs[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("record %d = %q, want %q", i, recs[i], want[i])
		}
	}
}
