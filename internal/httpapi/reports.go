package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/report"
)

// MessageSender queues a message (queue.Client implements it).
type MessageSender interface {
	Send(ctx context.Context, queueURL string, msg any, delaySeconds int32) error
}

// ReportLinker presigns a report's download (blob.Store implements it).
type ReportLinker interface {
	PresignGet(ctx context.Context, key string, ttl time.Duration) (blob.Presigned, error)
}

// defaultReportLinkTTL is how long a downloadUrl works unless configured:
// long enough to start a download, short enough that a leaked link dies.
const defaultReportLinkTTL = 15 * time.Minute

type createdReport struct {
	ReportID string `json:"reportId"`
	Status   string `json:"status"`
}

func (s *Server) createReport(w http.ResponseWriter, r *http.Request) error {
	t := tenantFrom(r.Context())
	var in struct {
		Type       string  `json:"type"`
		CampaignID *string `json:"campaignId"`
		From       *string `json:"from"`
		To         *string `json:"to"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var v errcode.Validator
	typ := report.Type(in.Type)
	v.Check(typ.Valid(), "type", "invalid", `type must be "campaign" or "contacts"`)
	var p postgres.ReportParams
	if typ == report.Campaign {
		switch {
		case in.CampaignID == nil || strings.TrimSpace(*in.CampaignID) == "":
			v.Add("campaignId", "required", "campaignId is required for a campaign report")
		default:
			id, err := uuid.Parse(*in.CampaignID)
			if err != nil {
				v.Add("campaignId", "invalid", "campaignId must be a campaign id (UUID)")
			}
			p.CampaignID = id.String()
		}
	}
	p.From = parseTimeField(&v, "from", in.From)
	p.To = parseTimeField(&v, "to", in.To)
	if p.From != nil && p.To != nil && !p.From.Before(*p.To) {
		v.Add("to", "out_of_range", "to must be after from")
	}
	if err := v.Err(); err != nil {
		return err
	}
	if s.opts.ReportSender == nil || s.opts.ReportsQueueURL == "" {
		return errcode.New(errcode.Unavailable, "reports are not configured")
	}
	rep, err := s.opts.DB.CreateReport(r.Context(), t.ID, typ, p)
	if err != nil {
		return err
	}
	if err := s.opts.ReportSender.Send(r.Context(), s.opts.ReportsQueueURL, report.NewMessage(rep.ID), 0); err != nil {
		// Leave no report pending forever; the client may simply ask again.
		if derr := s.opts.DB.DeleteReport(context.WithoutCancel(r.Context()), t.ID, rep.ID); derr != nil {
			s.log.ErrorContext(r.Context(), "delete unqueued report", "report_id", rep.ID, "error", derr.Error())
		}
		return errcode.Wrap(err, errcode.Unavailable, "the report could not be queued; try again")
	}
	writeData(w, http.StatusAccepted, createdReport{ReportID: rep.ID, Status: rep.Status})
	return nil
}

// parseTimeField reads an optional RFC 3339 time field.
func parseTimeField(v *errcode.Validator, field string, s *string) *time.Time {
	if s == nil {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		v.Add(field, "invalid", field+" must be an RFC 3339 time such as 2026-11-01T00:00:00Z")
		return nil
	}
	t = t.UTC()
	return &t
}

type reportView struct {
	ID          string      `json:"id"`
	Type        report.Type `json:"type"`
	Status      string      `json:"status"`
	Rows        int64       `json:"rows"`
	Progress    int         `json:"progress"`
	Error       *string     `json:"error"`
	DownloadURL *string     `json:"downloadUrl"`
	ExpiresAt   *time.Time  `json:"expiresAt"`
	CreatedAt   time.Time   `json:"createdAt"`
	FinishedAt  *time.Time  `json:"finishedAt"`
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request) error {
	t := tenantFrom(r.Context())
	id, err := pathID(r, "id", "report")
	if err != nil {
		return err
	}
	rep, err := s.opts.DB.Report(r.Context(), t.ID, id)
	if err != nil {
		return err
	}
	out := reportView{ID: rep.ID, Type: rep.Type, Status: rep.Status, Rows: rep.Rows,
		Progress: reportProgress(rep), CreatedAt: rep.CreatedAt, FinishedAt: rep.FinishedAt}
	if rep.Status == report.StatusFailed && rep.Error != "" {
		out.Error = &rep.Error
	}
	if rep.Status == report.StatusCompleted && s.opts.ReportLinks != nil {
		ttl := s.opts.ReportLinkTTL
		if ttl <= 0 {
			ttl = defaultReportLinkTTL
		}
		p, err := s.opts.ReportLinks.PresignGet(r.Context(), rep.ObjectKey, ttl)
		if err != nil {
			return err
		}
		out.DownloadURL, out.ExpiresAt = &p.URL, &p.ExpiresAt
	}
	writeData(w, http.StatusOK, out)
	return nil
}

// reportProgress is the share of rows written, 0-100; 100 only once completed.
func reportProgress(r postgres.Report) int {
	switch {
	case r.Status == report.StatusCompleted:
		return 100
	case r.RowsExpected == nil || *r.RowsExpected == 0:
		return 0
	}
	return int(min(99, r.Rows*100 / *r.RowsExpected))
}
