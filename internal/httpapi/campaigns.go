package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/audience"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// MaxCampaignBodyBytes is the body limit of POST /v1/campaigns: 100,000
// inline contacts do not fit in the general 1 MiB, and Lambda's synchronous
// payload limit is 6 MB.
const MaxCampaignBodyBytes = 6 << 20

// maxBodyFor is the body limit of r's route.
func maxBodyFor(r *http.Request) int64 {
	if r.Method == http.MethodPost && strings.TrimRight(r.URL.Path, "/") == "/v1/campaigns" {
		return MaxCampaignBodyBytes
	}
	return MaxBodyBytes
}

func tooLargeFor(r *http.Request) error {
	return errcode.New(errcode.PayloadTooLarge, "request body exceeds %d bytes", maxBodyFor(r))
}

// readBody reads at most limit bytes of the body.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errcode.New(errcode.PayloadTooLarge, "request body exceeds %d bytes", limit)
	}
	if err != nil {
		return nil, errcode.New(errcode.MalformedJSON, "request body could not be read")
	}
	return b, nil
}

// decodeBytes decodes one JSON value from b into v with decodeJSON's rules:
// every string in b must be valid text.
func decodeBytes(b []byte, v any) error {
	if err := decodeSyntax(b, v); err != nil {
		return err
	}
	if field, bad := badTextField(b); bad {
		return invalidText(field)
	}
	return nil
}

// decodeSyntax decodes one JSON value from b into v, leaving the text rule
// to the caller (a route that judges list entries one by one).
func decodeSyntax(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errcode.New(errcode.MalformedJSON, "request body must hold exactly one JSON value")
	}
	return nil
}

type createCampaignIn struct {
	Name        string             `json:"name"`
	InstanceID  string             `json:"instanceId"`
	InstanceIDs []string           `json:"instanceIds"`
	Rollout     *rolloutIn         `json:"rollout"`
	Message     string             `json:"message"`
	Contacts    json.RawMessage    `json:"contacts"`
	Audience    *audience.Audience `json:"audience"`
	ScheduledAt *string            `json:"scheduledAt"`
	QuietHours  *tenant.QuietHours `json:"quietHours"`
	Media       *struct {
		MediaID string `json:"mediaId"`
	} `json:"media"`
}

// rolloutIn is the staged rollout of a create request; omitted fields take
// their defaults.
type rolloutIn struct {
	Share          *float64 `json:"share"`
	HoldMinutes    *int     `json:"holdMinutes"`
	MaxFailedShare *float64 `json:"maxFailedShare"`
	MaxOptOutShare *float64 `json:"maxOptOutShare"`
}

// createdCampaign is the 202 body of POST /v1/campaigns: the campaign's
// id, state and recipient counts, the inline contacts it could not use
// and the template variables some recipients lack.
type createdCampaign struct {
	JobID        string                    `json:"jobId"`
	Status       campaign.Status           `json:"status"`
	ContactCount int                       `json:"contactCount"`
	Skipped      int                       `json:"skipped"`
	Invalid      []campaign.InvalidContact `json:"invalid"`
	MissingVars  []campaign.MissingVar     `json:"missingVars"`
	Warnings     []string                  `json:"warnings"`
}

func encodeCreated(res campaign.CreateResult) createdCampaign {
	return createdCampaign{JobID: res.ID, Status: res.Status, ContactCount: res.ContactCount, Skipped: res.Skipped,
		Invalid: nonNil(res.Invalid), MissingVars: nonNil(res.MissingVars), Warnings: nonNil(res.Warnings)}
}

// MaxInlineContacts is the most contacts one create request may carry;
// larger audiences are imported first and sent with {"audience"}.
const MaxInlineContacts = campaign.MaxInlineContacts

// MaxMessageChars bounds a campaign's message template.
const MaxMessageChars = campaign.MaxMessageChars

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request) error {
	t := tenantFrom(r.Context())
	raw, err := readBody(r, MaxCampaignBodyBytes)
	if err != nil {
		return err
	}
	var in createCampaignIn
	if err := decodeBytes(raw, &in); err != nil {
		return err
	}
	req := campaign.CreateRequest{
		TenantID: t.ID, Country: t.DefaultCountry,
		Name: in.Name, InstanceID: in.InstanceID, InstanceIDs: in.InstanceIDs, Message: in.Message, Contacts: in.Contacts,
		ScheduledAt: in.ScheduledAt, QuietHours: in.QuietHours,
		IdempotencyKey: r.Header.Get("Idempotency-Key"), Body: raw,
		Encode:  func(res campaign.CreateResult) ([]byte, error) { return json.Marshal(encodeCreated(res)) },
		MaxOpen: t.Plan.MaxOpenCampaigns(),
	}
	if in.Rollout != nil {
		req.Rollout = &campaign.RolloutRequest{Share: in.Rollout.Share, HoldMinutes: in.Rollout.HoldMinutes,
			MaxFailedShare: in.Rollout.MaxFailedShare, MaxOptOutShare: in.Rollout.MaxOptOutShare}
	}
	req.Audience = in.Audience
	if in.Media != nil {
		req.MediaID = &in.Media.MediaID
	}
	res, err := s.campaigns.Create(r.Context(), req)
	if err != nil {
		return err
	}
	if res.Replay != nil {
		writeData(w, http.StatusAccepted, json.RawMessage(res.Replay))
		return nil
	}
	writeData(w, http.StatusAccepted, encodeCreated(res))
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) campaignFromPath(r *http.Request) (campaign.Campaign, error) {
	id, err := pathID(r, "id", "campaign")
	if err != nil {
		return campaign.Campaign{}, err
	}
	return s.opts.DB.Campaign(r.Context(), tenantFrom(r.Context()).ID, id)
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request) error {
	c, err := s.campaignFromPath(r)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, c)
	return nil
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request) error {
	p, err := pageFrom(r)
	if err != nil {
		return err
	}
	cs, err := s.opts.DB.Campaigns(r.Context(), tenantFrom(r.Context()).ID, p.After, p.Limit)
	if err != nil {
		return err
	}
	writeList(w, p, cs, func(c campaign.Campaign) string { return c.ID })
	return nil
}

type statusResult struct {
	Processed int `json:"processed"`
	Failed    int `json:"failed"`
	Total     int `json:"total"`
	// Undelivered: sent longer ago than Options.UndeliveredAfter without a
	// delivery receipt (webhooks.go).
	Undelivered int `json:"undelivered"`
	// Replied: recipients who replied; ReplyRate: their share of the sent.
	Replied   int     `json:"replied"`
	ReplyRate float64 `json:"replyRate"`
}

type campaignStatusView struct {
	JobID    string          `json:"jobId"`
	State    campaign.Status `json:"state"`
	Progress int             `json:"progress"`
	Result   statusResult    `json:"result"`
}

// campaignStatus answers from one Postgres statement (DB.CampaignStatus):
// clients poll this route.
func (s *Server) campaignStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "campaign")
	if err != nil {
		return err
	}
	c, undelivered, err := s.opts.DB.CampaignStatus(r.Context(), tenantFrom(r.Context()).ID, id, s.now().Add(-s.undeliveredAfter()))
	if err != nil {
		return err
	}
	writeStatus(w, campaignStatusView{
		JobID: c.ID, State: c.Status, Progress: c.Counts.Progress(),
		Result: statusResult{Processed: c.Counts.Sent, Failed: c.Counts.Failed, Total: c.Counts.Total, Undelivered: undelivered,
			Replied: c.Counts.Replied, ReplyRate: c.ReplyRate},
	})
	return nil
}

// writeStatus writes v's success envelope, the bytes writeData writes,
// without reflection: clients poll this route. A view appendStatus cannot
// write goes through writeData.
func writeStatus(w http.ResponseWriter, v campaignStatusView) {
	if b, ok := appendStatus(make([]byte, 0, 256), v); ok {
		writeBody(w, http.StatusOK, b)
		return
	}
	writeData(w, http.StatusOK, v)
}

// appendStatus appends v's success envelope as writeData's encoder writes
// it (a final newline included). It reports false for what it leaves to
// encoding/json: strings that need escaping, a reply rate whose encoding
// needs an exponent, or NaN and the infinities (an encoding error there).
func appendStatus(b []byte, v campaignStatusView) ([]byte, bool) {
	rate := v.Result.ReplyRate
	if !plainJSON(v.JobID) || !plainJSON(string(v.State)) || math.IsNaN(rate) ||
		rate != 0 && (math.Abs(rate) < 1e-6 || math.Abs(rate) >= 1e21) {
		return b, false
	}
	b = append(b, `{"success":true,"data":{"jobId":"`...)
	b = append(b, v.JobID...)
	b = append(b, `","state":"`...)
	b = append(b, v.State...)
	b = append(b, `","progress":`...)
	b = strconv.AppendInt(b, int64(v.Progress), 10)
	b = append(b, `,"result":{"processed":`...)
	b = strconv.AppendInt(b, int64(v.Result.Processed), 10)
	b = append(b, `,"failed":`...)
	b = strconv.AppendInt(b, int64(v.Result.Failed), 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(v.Result.Total), 10)
	b = append(b, `,"undelivered":`...)
	b = strconv.AppendInt(b, int64(v.Result.Undelivered), 10)
	b = append(b, `,"replied":`...)
	b = strconv.AppendInt(b, int64(v.Result.Replied), 10)
	b = append(b, `,"replyRate":`...)
	b = strconv.AppendFloat(b, rate, 'f', -1, 64)
	return append(b, "}}}\n"...), true
}

// plainJSON reports whether s encodes as itself between quotes: printable
// ASCII without a quote or a backslash.
func plainJSON(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func (s *Server) campaignTimeline(w http.ResponseWriter, r *http.Request) error {
	c, err := s.campaignFromPath(r)
	if err != nil {
		return err
	}
	bucket := 60
	if b := r.URL.Query().Get("bucketSeconds"); b != "" {
		n, err := strconv.Atoi(b)
		if err != nil || n < 1 || n > 86400 {
			return errcode.Validation(errcode.Detail{Field: "bucketSeconds", Code: "out_of_range", Message: "bucketSeconds must be an integer from 1 to 86400"})
		}
		bucket = n
	}
	items, err := s.opts.DB.Timeline(r.Context(), c.ID, time.Duration(bucket)*time.Second)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, map[string]any{"items": nonNil(items)})
	return nil
}

func (s *Server) campaignRecipients(w http.ResponseWriter, r *http.Request) error {
	c, err := s.campaignFromPath(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var v errcode.Validator
	status := q.Get("status")
	v.Check(status == "" || campaign.ValidRecipientStatus(status), "status", "invalid",
		"status must be one of pending, sending, sent, delivered, read, failed, skipped, unknown")
	limit := 50
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			v.Add("limit", "out_of_range", "limit must be an integer from 1 to 1000")
		}
		limit = n
	}
	after := -1
	if cur := q.Get("cursor"); cur != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur)
		n, perr := strconv.Atoi(strings.TrimPrefix(string(b), "seq:"))
		if err != nil || perr != nil || !strings.HasPrefix(string(b), "seq:") || n < 0 {
			v.Add("cursor", "invalid", "cursor is not one this API returned")
		}
		after = n
	}
	if err := v.Err(); err != nil {
		return err
	}
	items, err := s.opts.DB.Recipients(r.Context(), c.ID, status, after, limit)
	if err != nil {
		return err
	}
	var next *string
	if len(items) == limit {
		c := base64.RawURLEncoding.EncodeToString([]byte("seq:" + strconv.Itoa(items[len(items)-1].Seq)))
		next = &c
	}
	writeData(w, http.StatusOK, list[postgres.RecipientView]{Items: nonNil(items), NextCursor: next})
	return nil
}

// campaignReplies lists the replies credited to the campaign, newest first.
func (s *Server) campaignReplies(w http.ResponseWriter, r *http.Request) error {
	c, err := s.campaignFromPath(r)
	if err != nil {
		return err
	}
	p, err := pageFrom(r)
	if err != nil {
		return err
	}
	items, err := s.opts.DB.Replies(r.Context(), c.TenantID, c.ID, p.After, p.Limit)
	if err != nil {
		return err
	}
	writeList(w, p, items, func(v postgres.Reply) string { return v.ID })
	return nil
}

func (s *Server) controlCampaign(act campaign.Action) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id", "campaign")
		if err != nil {
			return err
		}
		c, err := s.opts.DB.Transition(r.Context(), tenantFrom(r.Context()).ID, id, act)
		if err != nil {
			return err
		}
		if act == campaign.ActResume {
			s.campaigns.Enqueue(r.Context(), c.ID, c.ScheduledAt)
		}
		writeData(w, http.StatusOK, c)
		return nil
	}
}

func (s *Server) resendCampaign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "campaign")
	if err != nil {
		return err
	}
	var in struct {
		Statuses []campaign.RecipientStatus `json:"statuses"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var v errcode.Validator
	v.Check(len(in.Statuses) > 0, "statuses", "required", `statuses is required, e.g. ["failed","unknown"]`)
	for i, st := range in.Statuses {
		v.Check(st == campaign.RFailed || st == campaign.RUnknown, fmt.Sprintf("statuses[%d]", i), "invalid", "only failed and unknown recipients can be re-sent")
	}
	if err := v.Err(); err != nil {
		return err
	}
	t := tenantFrom(r.Context())
	st, n, err := s.opts.DB.Resend(r.Context(), t.ID, id, in.Statuses, t.Plan.MaxOpenCampaigns())
	if err != nil {
		return err
	}
	if n > 0 && st != campaign.Paused {
		s.campaigns.Enqueue(r.Context(), id, nil)
	}
	writeData(w, http.StatusAccepted, map[string]any{"jobId": id, "status": st, "resent": n})
	return nil
}
