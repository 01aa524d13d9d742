package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/phone"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// MaxCampaignBodyBytes is the body limit of POST /v1/campaigns: 100,000
// inline contacts do not fit in the general 1 MiB, and Lambda's synchronous
// payload limit is 6 MB.
const MaxCampaignBodyBytes = 6 << 20

// MaxInlineContacts is the most contacts one create request may carry;
// larger audiences are imported first and sent with {"audience"}.
const MaxInlineContacts = 100_000

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

// decodeBytes decodes one JSON value from b into v with decodeJSON's rules.
func decodeBytes(b []byte, v any) error {
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
	Message     string             `json:"message"`
	Contacts    json.RawMessage    `json:"contacts"`
	Audience    *audienceIn        `json:"audience"`
	ScheduledAt *string            `json:"scheduledAt"`
	QuietHours  *tenant.QuietHours `json:"quietHours"`
}

type audienceIn struct {
	All      bool   `json:"all"`
	ImportID string `json:"importId"`
}

// invalidContact is a contact the create request could not use.
type invalidContact struct {
	Index int    `json:"index"`
	Phone string `json:"phone"`
	Code  string `json:"code"`
}

// missingVar reports a template variable some recipients lack (they get it
// rendered empty).
type missingVar struct {
	Var        string `json:"var"`
	Recipients int    `json:"recipients"`
}

// createdCampaign is the 202 body of POST /v1/campaigns (design §6.3) plus
// missingVars, the missing-variable report.
type createdCampaign struct {
	JobID        string           `json:"jobId"`
	Status       campaign.Status  `json:"status"`
	ContactCount int              `json:"contactCount"`
	Skipped      int              `json:"skipped"`
	Invalid      []invalidContact `json:"invalid"`
	MissingVars  []missingVar     `json:"missingVars"`
}

// MaxMessageChars bounds a campaign's message template.
const MaxMessageChars = 4096

// delayThreshold: scheduled later than this is stored as scheduled and
// released by the scheduler; sooner rides on the queue's delay.
const delayThreshold = 15 * time.Minute

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
	now := s.now()
	var v errcode.Validator
	in.Name = strings.TrimSpace(in.Name)
	v.Check(len(in.Name) <= 200, "name", "too_long", "name must be at most 200 characters")
	v.Check(in.InstanceID != "", "instanceId", "required", "instanceId is required")
	v.Check(strings.TrimSpace(in.Message) != "", "message", "required", "message is required and must not be blank")
	v.Check(len([]rune(in.Message)) <= MaxMessageChars, "message", "too_long", fmt.Sprintf("message must be at most %d characters", MaxMessageChars))
	key := r.Header.Get("Idempotency-Key")
	v.Check(len(key) <= 255, "Idempotency-Key", "too_long", "Idempotency-Key must be at most 255 characters")

	var items []json.RawMessage
	hasContacts := len(in.Contacts) > 0 && string(in.Contacts) != "null"
	switch {
	case hasContacts && in.Audience != nil:
		v.Add("contacts", "exclusive", "give contacts or audience, not both")
	case !hasContacts && in.Audience == nil:
		v.Add("contacts", "required", "contacts or audience is required")
	case hasContacts:
		if err := json.Unmarshal(in.Contacts, &items); err != nil {
			v.Add("contacts", "invalid_type", "contacts must be an array of phone strings or {phone, name, ...vars} objects")
		} else if len(items) == 0 {
			v.Add("contacts", "required", "contacts must not be empty")
		} else if len(items) > MaxInlineContacts {
			v.Add("contacts", "too_many", fmt.Sprintf("at most %d inline contacts; import larger lists and use audience", MaxInlineContacts))
		}
	default:
		a := in.Audience
		if a.All == (a.ImportID != "") {
			v.Add("audience", "invalid", `audience must be {"all":true} or {"importId":"..."}`)
		} else if a.ImportID != "" {
			if _, err := uuid.Parse(a.ImportID); err != nil {
				v.Add("audience.importId", "invalid", "importId must be an import id")
			}
		}
	}
	var scheduledAt *time.Time
	if in.ScheduledAt != nil {
		at, err := time.Parse(time.RFC3339, *in.ScheduledAt)
		switch {
		case err != nil:
			v.Add("scheduledAt", "invalid", "scheduledAt must be an RFC 3339 time such as 2026-12-24T18:00:00Z")
		case at.After(now.AddDate(1, 0, 0)):
			v.Add("scheduledAt", "out_of_range", "scheduledAt must be within a year")
		default:
			at = at.UTC()
			scheduledAt = &at
		}
	}
	if in.QuietHours != nil {
		if err := in.QuietHours.Validate(); err != nil {
			v.Add("quietHours", "invalid", "quietHours must be {start:\"HH:MM\", end:\"HH:MM\"}: "+err.Error())
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if _, err := uuid.Parse(in.InstanceID); err != nil {
		return errcode.New(errcode.NotFound, "instance not found")
	}
	if _, err := s.opts.DB.Instance(r.Context(), t.ID, in.InstanceID); err != nil {
		return err
	}

	tpl := campaign.ParseTemplate(in.Message)
	var recipients []postgres.NewRecipient
	var invalid []invalidContact
	var missing []missingVar
	if hasContacts {
		recipients, invalid = normalizeContacts(items, t.DefaultCountry)
		if len(recipients) == 0 {
			details := make([]errcode.Detail, 0, min(len(invalid), 100))
			for _, iv := range invalid[:min(len(invalid), 100)] {
				details = append(details, errcode.Detail{Field: fmt.Sprintf("contacts[%d]", iv.Index), Code: iv.Code, Message: fmt.Sprintf("%q is not a usable phone number", iv.Phone)})
			}
			return &errcode.Error{Code: errcode.ValidationFailed, Message: "no contact has a valid phone number", Details: details}
		}
		missing = missingVars(tpl, recipients)
	}

	status := campaign.Queued
	if scheduledAt != nil && scheduledAt.After(now.Add(delayThreshold)) {
		status = campaign.Scheduled
	}
	nc := postgres.NewCampaign{
		Campaign: campaign.Campaign{
			TenantID: t.ID, InstanceID: in.InstanceID, Name: in.Name, Message: in.Message, Status: status,
			ScheduledAt: scheduledAt, QuietHours: in.QuietHours, ChunkSize: campaign.DefaultChunkSize,
		},
		IdempotencyKey: key,
		Recipients:     recipients,
		Now:            now,
		Response: func(id string, st campaign.Status, total, skipped int) ([]byte, error) {
			return json.Marshal(createdCampaign{JobID: id, Status: st, ContactCount: total, Skipped: skipped,
				Invalid: nonNil(invalid), MissingVars: nonNil(missing)})
		},
	}
	if key != "" {
		sum := sha256.Sum256(raw)
		nc.BodyHash = sum[:]
	}
	if in.Audience != nil {
		nc.Audience = &postgres.Audience{All: in.Audience.All, ImportID: in.Audience.ImportID}
	}
	created, err := s.opts.DB.CreateCampaign(r.Context(), nc)
	if err != nil {
		return err
	}
	if created.Replay != nil {
		writeData(w, http.StatusAccepted, json.RawMessage(created.Replay))
		return nil
	}
	if created.Status == campaign.Queued {
		s.kick(r, created.ID, scheduledAt)
	}
	writeData(w, http.StatusAccepted, createdCampaign{JobID: created.ID, Status: created.Status, ContactCount: created.Total,
		Skipped: created.Skipped, Invalid: nonNil(invalid), MissingVars: nonNil(missing)})
	return nil
}

// kick enqueues the campaign's chunks after its transaction committed. A
// failure is logged, not answered: the campaign is durable and the
// scheduler's requeue job enqueues campaigns that never were.
func (s *Server) kick(r *http.Request, id string, scheduledAt *time.Time) {
	if s.opts.Chunks == nil {
		s.log.WarnContext(r.Context(), "no campaigns queue configured; the scheduler will enqueue", "campaign_id", id)
		return
	}
	if err := campaign.Kick(r.Context(), s.opts.DB, s.opts.Chunks, id, campaign.DefaultChunkSize, scheduledAt, s.now()); err != nil {
		s.log.ErrorContext(r.Context(), "enqueue campaign chunks; the scheduler will retry", "campaign_id", id, "error", err.Error())
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// normalizeContacts turns inline contacts into recipients in request order,
// collapsing duplicate phones (the first wins) and reporting unusable ones.
// Phones are normalised in parallel: it is most of the cost of a big list.
func normalizeContacts(items []json.RawMessage, country string) ([]postgres.NewRecipient, []invalidContact) {
	type result struct {
		rec  postgres.NewRecipient
		raw  string
		code string
	}
	res := make([]result, len(items))
	workers := min(runtime.GOMAXPROCS(0), 8)
	if len(items) < 1000 {
		workers = 1
	}
	var wg sync.WaitGroup
	per := (len(items) + workers - 1) / workers
	for wi := range workers {
		lo, hi := wi*per, min((wi+1)*per, len(items))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				res[i] = func() result {
					rec, raw, ok := parseContact(items[i])
					if !ok {
						return result{raw: raw, code: "invalid_contact"}
					}
					digits, code, _ := phone.Normalize(raw, country)
					if code != "" {
						return result{raw: raw, code: code}
					}
					rec.Phone = digits
					return result{rec: rec}
				}()
			}
		})
	}
	wg.Wait()
	seen := make(map[string]struct{}, len(items))
	out := make([]postgres.NewRecipient, 0, len(items))
	var invalid []invalidContact
	for i, r := range res {
		if r.code != "" {
			invalid = append(invalid, invalidContact{Index: i, Phone: r.raw, Code: r.code})
			continue
		}
		if _, dup := seen[r.rec.Phone]; dup {
			continue
		}
		seen[r.rec.Phone] = struct{}{}
		out = append(out, r.rec)
	}
	return out, invalid
}

// parseContact reads "phone" or {phone, name, ...vars}.
func parseContact(b json.RawMessage) (postgres.NewRecipient, string, bool) {
	var rec postgres.NewRecipient
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var p string
		if err := json.Unmarshal(b, &p); err != nil {
			return rec, "", false
		}
		return rec, p, true
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return rec, string(b), false
	}
	var p string
	switch x := obj["phone"].(type) {
	case string:
		p = x
	case float64:
		p = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return rec, "", false
	}
	if n, ok := obj["name"].(string); ok {
		rec.Name = strings.TrimSpace(n)
	}
	for k, val := range obj {
		if k == "phone" || k == "name" {
			continue
		}
		if rec.Vars == nil {
			rec.Vars = map[string]string{}
		}
		switch x := val.(type) {
		case nil:
		case string:
			rec.Vars[k] = x
		case float64:
			rec.Vars[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			rec.Vars[k] = strconv.FormatBool(x)
		default:
			j, _ := json.Marshal(x)
			rec.Vars[k] = string(j)
		}
	}
	return rec, p, true
}

// missingVars counts, per template variable, the recipients without a value.
func missingVars(tpl *campaign.Template, recs []postgres.NewRecipient) []missingVar {
	if len(tpl.Vars()) == 0 {
		return nil
	}
	counts := map[string]int{}
	for _, r := range recs {
		for _, v := range tpl.Missing(campaign.Recipient{Phone: r.Phone, Name: r.Name, Vars: r.Vars}) {
			counts[v]++
		}
	}
	out := make([]missingVar, 0, len(counts))
	for v, n := range counts {
		out = append(out, missingVar{Var: v, Recipients: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Var < out[j].Var })
	return out
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
	// delivery receipt (issue 8, webhooks.go).
	Undelivered int `json:"undelivered"`
}

type campaignStatusView struct {
	JobID    string          `json:"jobId"`
	State    campaign.Status `json:"state"`
	Progress int             `json:"progress"`
	Result   statusResult    `json:"result"`
}

func (s *Server) campaignStatus(w http.ResponseWriter, r *http.Request) error {
	c, err := s.campaignFromPath(r)
	if err != nil {
		return err
	}
	undelivered, err := s.CampaignUndelivered(r.Context(), tenantFrom(r.Context()).ID, c.ID)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, campaignStatusView{
		JobID: c.ID, State: c.Status, Progress: c.Counts.Progress(),
		Result: statusResult{Processed: c.Counts.Sent, Failed: c.Counts.Failed, Total: c.Counts.Total, Undelivered: undelivered},
	})
	return nil
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
			s.kick(r, c.ID, c.ScheduledAt)
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
	st, n, err := s.opts.DB.Resend(r.Context(), tenantFrom(r.Context()).ID, id, in.Statuses)
	if err != nil {
		return err
	}
	if n > 0 && st != campaign.Paused {
		s.kick(r, id, nil)
	}
	writeData(w, http.StatusAccepted, map[string]any{"jobId": id, "status": st, "resent": n})
	return nil
}
