package campaign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/wuzapi-manager/wuzapi-manager/internal/audience"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/media"
	"github.com/wuzapi-manager/wuzapi-manager/internal/phone"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// MaxInlineContacts is the most contacts one create request may carry;
// larger audiences are imported first and sent with an audience.
const MaxInlineContacts = 100_000

// MaxMessageChars bounds a campaign's message template.
const MaxMessageChars = 4096

// delayThreshold: scheduled later than this is stored as scheduled and
// released by the scheduler; sooner rides on the queue's delay.
const delayThreshold = 15 * time.Minute

// NewRecipient is an inline recipient of a new campaign.
type NewRecipient struct {
	Phone string
	Name  string
	Vars  map[string]string
}

// Audience selects recipients from stored contacts: all of the tenant's,
// or those an import, tags, attribute conditions and recent messaging pick
// (package audience).
type Audience = audience.Audience

// NewCampaign is a campaign to store with its recipients: inline ones (in
// order) or an audience.
type NewCampaign struct {
	Campaign       Campaign // TenantID, InstanceID, Name, Message, Status, ScheduledAt, QuietHours, ChunkSize
	IdempotencyKey string
	BodyHash       []byte
	Recipients     []NewRecipient
	Audience       *Audience
	// Now is the request's time: the campaign's created_at and the clock of
	// the Idempotency-Key window.
	Now time.Time
	// Response builds the answer stored for Idempotency-Key replays.
	Response func(id string, status Status, total, skipped int) ([]byte, error)
	// MaxOpen is how many campaigns the tenant's plan lets it hold
	// scheduled, queued, running or paused (0: no cap). At the cap the
	// store refuses with PLAN_LIMIT naming "openCampaigns"; the count and
	// the insert are one transaction under a per-tenant lock, so concurrent
	// creates never pass it together. A replay is answered before counting.
	MaxOpen int
}

// Created is what storing a new campaign gave. Replay is set (and nothing
// was written) when the Idempotency-Key named an earlier identical request.
type Created struct {
	ID      string
	Status  Status
	Total   int // recipients to message
	Skipped int // opted out
	Chunks  int
	Replay  []byte
}

// CreateStore is what campaign creation needs of storage.
type CreateStore interface {
	ChunkStore
	// Instance returns the tenant's instance, or a NOT_FOUND error.
	Instance(ctx context.Context, tenantID, id string) (Instance, error)
	// Media returns the tenant's media, or a NOT_FOUND error.
	Media(ctx context.Context, tenantID, id string) (media.Media, error)
	// CreateCampaign stores the campaign and its recipients in one
	// transaction, or answers the replay of an earlier identical request
	// with the same Idempotency-Key (IDEMPOTENCY_KEY_REUSED when the
	// request differs).
	CreateCampaign(ctx context.Context, nc NewCampaign) (Created, error)
}

// Service creates campaigns: it validates the request, normalises its
// phones and hands the queued campaign's chunks to the queue.
type Service struct {
	Store CreateStore
	// Queue enqueues the chunks of a campaign created queued. When nil (or
	// failing) the campaign is still created; the scheduler's requeue job
	// enqueues it.
	Queue  Enqueuer
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// CreateRequest is a request to create a campaign, as the client sent it.
type CreateRequest struct {
	TenantID string
	// Country is the tenant's default country for phones without one.
	Country    string
	Name       string
	InstanceID string
	// InstanceIDs is a pool of MinPool–MaxPool of the tenant's instances,
	// given instead of InstanceID: each recipient is sent by one of them.
	InstanceIDs []string
	// Rollout, when given, sends a first share of the recipients and holds
	// the rest until that slice's outcomes are within bounds.
	Rollout *RolloutRequest
	Message string
	// MediaID, when not nil, names a ready media of the tenant sent with
	// every message; Message is then its caption and may be blank.
	MediaID *string
	// Contacts is the inline contacts as sent: a JSON array of phone
	// strings or {phone, name, ...vars} objects; empty or null when not given.
	Contacts    json.RawMessage
	Audience    *Audience
	ScheduledAt *string // RFC 3339
	QuietHours  *tenant.QuietHours
	// IdempotencyKey names the request for 24 hours; "" for none.
	IdempotencyKey string
	// MaxOpen is the plan's cap on open campaigns (0: none); see
	// NewCampaign.MaxOpen.
	MaxOpen int
	// Body is the request as received: a replay under the same key must
	// repeat it byte for byte.
	Body []byte
	// Encode builds the answer a replay under IdempotencyKey repeats.
	Encode func(CreateResult) ([]byte, error)
}

// RolloutRequest is the staged rollout as the client sent it; a field left
// nil takes its default.
type RolloutRequest struct {
	Share          *float64
	HoldMinutes    *int
	MaxFailedShare *float64
	MaxOptOutShare *float64
}

// The bounds of a pool and of a staged rollout's hold.
const (
	MinPool               = 2
	MaxPool               = 20
	MinRolloutHoldMinutes = 1
	MaxRolloutHold        = 7 * 24 * 60
)

// CreateResult is a created campaign with what the request could not use.
type CreateResult struct {
	ID           string
	Status       Status
	ContactCount int
	Skipped      int // opted out
	Invalid      []InvalidContact
	MissingVars  []MissingVar
	// Warnings name risks the campaign was created with anyway
	// (WarnUniformMessage).
	Warnings []string
	// Replay is the stored answer of an earlier identical request with the
	// same Idempotency-Key; nothing else is set then.
	Replay []byte
}

// InvalidContact is an inline contact the request could not use.
type InvalidContact struct {
	Index int    `json:"index"`
	Phone string `json:"phone"`
	Code  string `json:"code"`
}

// MissingVar is a template variable some recipients lack (they get it
// rendered empty).
type MissingVar struct {
	Var        string `json:"var"`
	Recipients int    `json:"recipients"`
}

// createInput is a request after validation.
type createInput struct {
	CreateRequest
	items       []json.RawMessage // inline contacts, nil for an audience
	scheduledAt *time.Time
	rollout     *Rollout
	media       *Media
	now         time.Time
}

// Create validates the request, normalises its contacts, stores the
// campaign and enqueues its chunks when it is queued. Invalid requests are
// VALIDATION_FAILED (or NOT_FOUND for an unknown instance) and store
// nothing.
func (s *Service) Create(ctx context.Context, req CreateRequest) (CreateResult, error) {
	in, err := s.validate(req)
	if err != nil {
		return CreateResult{}, err
	}
	if err := s.checkInstances(ctx, in.CreateRequest); err != nil {
		return CreateResult{}, err
	}
	if in.media, err = s.checkMedia(ctx, in); err != nil {
		return CreateResult{}, err
	}
	res := CreateResult{Warnings: messageWarnings(ParseTemplate(in.Message))}
	var recipients []NewRecipient
	if in.items != nil {
		if recipients, res.Invalid, err = contactRecipients(in.items, in.Country); err != nil {
			return CreateResult{}, err
		}
		res.MissingVars = missingVars(ParseTemplate(in.Message), recipients)
	}
	created, err := s.Store.CreateCampaign(ctx, in.newCampaign(recipients, res))
	if err != nil {
		return CreateResult{}, err
	}
	if created.Replay != nil {
		return CreateResult{Replay: created.Replay}, nil
	}
	if created.Status == Queued {
		s.Enqueue(ctx, created.ID, in.scheduledAt)
	}
	res.ID, res.Status, res.ContactCount, res.Skipped = created.ID, created.Status, created.Total, created.Skipped
	return res, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// validate checks every field, reporting all problems in one error.
func (s *Service) validate(req CreateRequest) (createInput, error) {
	in := createInput{CreateRequest: req, now: s.now()}
	var v errcode.Validator
	in.Name = strings.TrimSpace(in.Name)
	v.Check(len(in.Name) <= 200, "name", "too_long", "name must be at most 200 characters")
	validateInstances(&v, in.InstanceID, in.InstanceIDs)
	in.rollout = validateRollout(&v, in.Rollout)
	v.Check(in.MediaID != nil || strings.TrimSpace(in.Message) != "", "message", "required", "message is required and must not be blank (it may be blank with media)")
	v.Check(in.MediaID == nil || strings.TrimSpace(*in.MediaID) != "", "media.mediaId", "required", "media.mediaId is required")
	v.Check(len([]rune(in.Message)) <= MaxMessageChars, "message", "too_long", fmt.Sprintf("message must be at most %d characters", MaxMessageChars))
	v.Check(ParseTemplate(in.Message).Depth() <= MaxSpintaxDepth, "message", "spintax_too_deep", fmt.Sprintf("spintax may nest at most %d deep", MaxSpintaxDepth))
	v.Check(len(in.IdempotencyKey) <= 255, "Idempotency-Key", "too_long", "Idempotency-Key must be at most 255 characters")
	in.items = validateRecipients(&v, in.Contacts, in.Audience)
	in.scheduledAt = validateSchedule(&v, in.ScheduledAt, in.now)
	if in.QuietHours != nil {
		if err := in.QuietHours.Validate(); err != nil {
			v.Add("quietHours", "invalid", "quietHours must be {start:\"HH:MM\", end:\"HH:MM\"}: "+err.Error())
		}
	}
	return in, v.Err()
}

// checkMedia returns the campaign's media: the tenant's, ready, and kept at
// least media.MinLifeLeft after the campaign's start. Otherwise it is
// VALIDATION_FAILED on media.mediaId: not_found (unknown or another
// tenant's), not_ready (pending or rejected), expired (its file was deleted)
// or expires_too_soon. The store checks the status again under a lock when
// it writes the campaign (MediaNotUsable), so an expiry in between loses.
func (s *Service) checkMedia(ctx context.Context, in createInput) (*Media, error) {
	if in.MediaID == nil {
		return nil, nil
	}
	m, err := s.Store.Media(ctx, in.TenantID, strings.TrimSpace(*in.MediaID))
	if errors.Is(err, errcode.ErrNotFound) {
		return nil, errcode.Validation(errcode.Detail{Field: mediaField, Code: "not_found", Message: "no media of yours has this id"})
	}
	if err != nil {
		return nil, err
	}
	start := in.now
	if in.scheduledAt != nil && in.scheduledAt.After(start) {
		start = *in.scheduledAt
	}
	switch {
	case m.Status != media.StatusReady:
		return nil, MediaNotUsable(m.Status, m.Error)
	case m.ExpiresAt.Before(start.Add(media.MinLifeLeft)):
		return nil, errcode.Validation(errcode.Detail{Field: mediaField, Code: "expires_too_soon",
			Message: fmt.Sprintf("the media is deleted at %s, less than %s after the campaign starts; upload it again",
				m.ExpiresAt.UTC().Format(time.RFC3339), media.MinLifeLeft)})
	}
	return &Media{ID: m.ID, Kind: m.Kind, ContentType: m.ContentType, FileName: m.FileName, Size: m.Size,
		Status: m.Status, ObjectKey: m.ObjectKey, ETag: m.ETag}, nil
}

const mediaField = "media.mediaId"

// MediaNotUsable is the VALIDATION_FAILED of a campaign whose media has
// status (not ready): not_ready for pending or rejected (with the check's
// reason), expired when its file was deleted. A resend of a campaign whose
// media expired is INVALID_STATE instead (ResendMediaExpired).
func MediaNotUsable(status string, reason *string) error {
	switch status {
	case media.StatusPending:
		return errcode.Validation(errcode.Detail{Field: mediaField, Code: "not_ready", Message: "the media is not ready: its upload has not been checked yet"})
	case media.StatusExpired:
		return errcode.Validation(errcode.Detail{Field: mediaField, Code: "expired",
			Message: fmt.Sprintf("the media's file was deleted: no campaign had needed it for %d days; upload it again", media.Idle/(24*time.Hour))})
	}
	why := ""
	if reason != nil {
		why = ": " + *reason
	}
	return errcode.Validation(errcode.Detail{Field: mediaField, Code: "not_ready", Message: "the media is not ready: it was rejected" + why})
}

// ResendMediaExpired is the error of a resend of a campaign whose media is
// no longer ready (its file was deleted): nothing is reset.
var ResendMediaExpired = errcode.New(errcode.InvalidState, "the campaign's media file was deleted; create a new campaign with the file uploaded again")

// validateInstances checks that exactly one of instanceId and instanceIds is
// given, and that a pool holds MinPool–MaxPool distinct instance ids.
func validateInstances(v *errcode.Validator, one string, pool []string) {
	switch {
	case one != "" && pool != nil:
		v.Add("instanceIds", "exclusive", "give instanceId or instanceIds, not both")
		return
	case one == "" && pool == nil:
		v.Add("instanceId", "required", "instanceId (or instanceIds, a pool) is required")
		return
	case pool == nil:
		return
	}
	if len(pool) < MinPool || len(pool) > MaxPool {
		code := "too_few"
		if len(pool) > MaxPool {
			code = "too_many"
		}
		v.Add("instanceIds", code, fmt.Sprintf("instanceIds must name %d to %d instances", MinPool, MaxPool))
		return
	}
	seen := make(map[string]bool, len(pool))
	for i, id := range pool {
		key := strings.ToLower(strings.TrimSpace(id))
		if seen[key] {
			v.Add(fmt.Sprintf("instanceIds[%d]", i), "duplicate", "each instance may appear once")
		}
		seen[key] = true
	}
}

// checkInstances makes sure the campaign's instances are the tenant's: an
// unknown instanceId is NOT_FOUND; a pool naming an instance the tenant
// does not have is VALIDATION_FAILED, naming each such entry.
func (s *Service) checkInstances(ctx context.Context, req CreateRequest) error {
	if req.InstanceIDs == nil {
		if _, err := uuid.Parse(req.InstanceID); err != nil {
			return errcode.New(errcode.NotFound, "instance not found")
		}
		_, err := s.Store.Instance(ctx, req.TenantID, req.InstanceID)
		return err
	}
	var v errcode.Validator
	for i, id := range req.InstanceIDs {
		if _, err := uuid.Parse(id); err != nil {
			v.Add(fmt.Sprintf("instanceIds[%d]", i), "not_found", "no instance of yours has this id")
			continue
		}
		_, err := s.Store.Instance(ctx, req.TenantID, id)
		if errors.Is(err, errcode.ErrNotFound) {
			v.Add(fmt.Sprintf("instanceIds[%d]", i), "not_found", "no instance of yours has this id")
		} else if err != nil {
			return err
		}
	}
	return v.Err()
}

// validateRollout fills the rollout's defaults and checks its bounds: share
// strictly between 0 and 1, the hold MinRolloutHoldMinutes–MaxRolloutHold
// minutes, the two limits from 0 to 1. Nil when not given or invalid.
func validateRollout(v *errcode.Validator, in *RolloutRequest) *Rollout {
	if in == nil {
		return nil
	}
	r := Rollout{Share: DefaultRolloutShare, HoldMinutes: DefaultRolloutHoldMinutes,
		MaxFailedShare: DefaultRolloutMaxFailedShare, MaxOptOutShare: DefaultRolloutMaxOptOutShare}
	ok := true
	check := func(good bool, field, msg string) {
		if !good {
			v.Add("rollout."+field, "out_of_range", msg)
			ok = false
		}
	}
	if in.Share != nil {
		r.Share = *in.Share
		check(r.Share > 0 && r.Share < 1, "share", "share must be more than 0 and less than 1")
	}
	if in.HoldMinutes != nil {
		r.HoldMinutes = *in.HoldMinutes
		check(r.HoldMinutes >= MinRolloutHoldMinutes && r.HoldMinutes <= MaxRolloutHold, "holdMinutes",
			fmt.Sprintf("holdMinutes must be from %d to %d", MinRolloutHoldMinutes, MaxRolloutHold))
	}
	if in.MaxFailedShare != nil {
		r.MaxFailedShare = *in.MaxFailedShare
		check(r.MaxFailedShare >= 0 && r.MaxFailedShare <= 1, "maxFailedShare", "maxFailedShare must be from 0 to 1")
	}
	if in.MaxOptOutShare != nil {
		r.MaxOptOutShare = *in.MaxOptOutShare
		check(r.MaxOptOutShare >= 0 && r.MaxOptOutShare <= 1, "maxOptOutShare", "maxOptOutShare must be from 0 to 1")
	}
	if !ok {
		return nil
	}
	return &r
}

// validateRecipients checks that exactly one of contacts and audience is
// given and well formed, and returns the inline contacts (nil for an
// audience).
func validateRecipients(v *errcode.Validator, contacts json.RawMessage, a *Audience) []json.RawMessage {
	hasContacts := len(contacts) > 0 && string(contacts) != "null"
	switch {
	case hasContacts && a != nil:
		v.Add("contacts", "exclusive", "give contacts or audience, not both")
	case !hasContacts && a == nil:
		v.Add("contacts", "required", "contacts or audience is required")
	case hasContacts:
		var items []json.RawMessage
		if err := json.Unmarshal(contacts, &items); err != nil {
			v.Add("contacts", "invalid_type", "contacts must be an array of phone strings or {phone, name, ...vars} objects")
		} else if len(items) == 0 {
			v.Add("contacts", "required", "contacts must not be empty")
		} else if len(items) > MaxInlineContacts {
			v.Add("contacts", "too_many", fmt.Sprintf("at most %d inline contacts; import larger lists and use audience", MaxInlineContacts))
		}
		return items
	default:
		a.Validate(v, "audience")
	}
	return nil
}

// validateSchedule parses scheduledAt (RFC 3339, within a year of now)
// into UTC; nil when it is not given or invalid.
func validateSchedule(v *errcode.Validator, scheduledAt *string, now time.Time) *time.Time {
	if scheduledAt == nil {
		return nil
	}
	at, err := time.Parse(time.RFC3339, *scheduledAt)
	switch {
	case err != nil:
		v.Add("scheduledAt", "invalid", "scheduledAt must be an RFC 3339 time such as 2026-12-24T18:00:00Z")
	case at.After(now.AddDate(1, 0, 0)):
		v.Add("scheduledAt", "out_of_range", "scheduledAt must be within a year")
	default:
		at = at.UTC()
		return &at
	}
	return nil
}

// newCampaign is what the store writes; res carries the contacts the
// request could not use into the answer a replay repeats.
func (in createInput) newCampaign(recipients []NewRecipient, res CreateResult) NewCampaign {
	status := Queued
	if in.scheduledAt != nil && in.scheduledAt.After(in.now.Add(delayThreshold)) {
		status = Scheduled
	}
	nc := NewCampaign{
		Campaign: Campaign{
			TenantID: in.TenantID, InstanceID: in.InstanceID, Name: in.Name, Message: in.Message, Status: status,
			ScheduledAt: in.scheduledAt, QuietHours: in.QuietHours, ChunkSize: DefaultChunkSize,
			Rollout: in.rollout, Media: in.media,
		},
		IdempotencyKey: in.IdempotencyKey,
		MaxOpen:        in.MaxOpen,
		Recipients:     recipients,
		Now:            in.now,
		Response: func(id string, st Status, total, skipped int) ([]byte, error) {
			r := res
			r.ID, r.Status, r.ContactCount, r.Skipped = id, st, total, skipped
			return in.Encode(r)
		},
	}
	if in.InstanceIDs != nil {
		// A pool's first instance is the campaign's instanceId.
		nc.Campaign.InstanceIDs = append([]string(nil), in.InstanceIDs...)
		nc.Campaign.InstanceID = in.InstanceIDs[0]
	}
	if in.Encode == nil {
		nc.Response = nil
	}
	if in.IdempotencyKey != "" {
		sum := sha256.Sum256(in.Body)
		nc.BodyHash = sum[:]
	}
	if in.Audience != nil {
		a := *in.Audience
		nc.Audience = &a
	}
	return nc
}

// Enqueue enqueues a queued campaign's chunks after its transaction
// committed. A failure is logged, not returned: the campaign is durable
// and the scheduler's requeue job enqueues campaigns that never were.
func (s *Service) Enqueue(ctx context.Context, id string, scheduledAt *time.Time) {
	if s.Queue == nil {
		s.Logger.WarnContext(ctx, "no campaigns queue configured; the scheduler will enqueue", "campaign_id", id)
		return
	}
	if err := Kick(ctx, s.Store, s.Queue, id, DefaultChunkSize, scheduledAt, s.now()); err != nil {
		s.Logger.ErrorContext(ctx, "enqueue campaign chunks; the scheduler will retry", "campaign_id", id, "error", err.Error())
	}
}

// contactRecipients turns inline contacts into recipients in request
// order, collapsing duplicate phones (the first wins) and reporting
// unusable ones. When none is usable it is VALIDATION_FAILED with the first
// 100 reasons.
func contactRecipients(items []json.RawMessage, country string) ([]NewRecipient, []InvalidContact, error) {
	recipients, invalid := normalizeContacts(items, country)
	if len(recipients) > 0 {
		return recipients, invalid, nil
	}
	details := make([]errcode.Detail, 0, min(len(invalid), 100))
	for _, iv := range invalid[:min(len(invalid), 100)] {
		details = append(details, errcode.Detail{Field: fmt.Sprintf("contacts[%d]", iv.Index), Code: iv.Code, Message: fmt.Sprintf("%q is not a usable phone number", iv.Phone)})
	}
	return nil, nil, &errcode.Error{Code: errcode.ValidationFailed, Message: "no contact has a valid phone number", Details: details}
}

// normalizeContacts turns inline contacts into recipients in request order,
// collapsing duplicate phones (the first wins) and reporting unusable ones.
func normalizeContacts(items []json.RawMessage, country string) ([]NewRecipient, []InvalidContact) {
	seen := make(map[string]struct{}, len(items))
	out := make([]NewRecipient, 0, len(items))
	var invalid []InvalidContact
	for i, item := range items {
		rec, raw, code := normalizeContact(item, country)
		if code != "" {
			invalid = append(invalid, InvalidContact{Index: i, Phone: raw, Code: code})
			continue
		}
		if _, dup := seen[rec.Phone]; dup {
			continue
		}
		seen[rec.Phone] = struct{}{}
		out = append(out, rec)
	}
	return out, invalid
}

// normalizeContact reads one contact and normalises its phone; code says
// why it cannot be used ("" when it can), raw is the phone as given.
func normalizeContact(item json.RawMessage, country string) (rec NewRecipient, raw, code string) {
	rec, raw, ok := parseContact(item)
	if !ok {
		return rec, raw, "invalid_contact"
	}
	digits, code, _ := phone.Normalize(raw, country)
	if code != "" {
		return rec, raw, code
	}
	rec.Phone = digits
	return rec, raw, ""
}

// parseContact reads "phone" or {phone, name, ...vars}.
func parseContact(b json.RawMessage) (NewRecipient, string, bool) {
	var rec NewRecipient
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
		if val != nil { // null is no value: the template renders it missing
			rec.Vars[k] = varText(val)
		}
	}
	return rec, p, true
}

// varText is a contact variable's value as the template renders it.
func varText(val any) string {
	switch x := val.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		j, _ := json.Marshal(x)
		return string(j)
	}
}

// missingVars counts, per template variable, the recipients without a value.
func missingVars(tpl *Template, recs []NewRecipient) []MissingVar {
	if len(tpl.Vars()) == 0 {
		return nil
	}
	counts := map[string]int{}
	for _, r := range recs {
		for _, v := range tpl.Missing(Recipient(r)) {
			counts[v]++
		}
	}
	out := make([]MissingVar, 0, len(counts))
	for v, n := range counts {
		out = append(out, MissingVar{Var: v, Recipients: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Var < out[j].Var })
	return out
}

// WarnUniformMessage is the create answer's warning for a message without a
// variable or spintax: every recipient gets the same text, which WhatsApp
// punishes, and the identical-text cap slows the campaign down.
const WarnUniformMessage = "uniform_message"

// messageWarnings are the create answer's warnings about the message.
func messageWarnings(tpl *Template) []string {
	if tpl.Varies() {
		return []string{}
	}
	return []string{WarnUniformMessage}
}
