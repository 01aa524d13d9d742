package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// instanceView is an instance as the API shows it; the token never appears.
type instanceView struct {
	campaign.Instance
	WebhookURL string `json:"webhookUrl"`
	// Session is set by GET /v1/instances/{id} only.
	Session      *wuzapi.Session `json:"session,omitempty"`
	SessionError *string         `json:"sessionError,omitempty"`
	// Health is set by GET /v1/instances, GET /v1/instances/{id} and
	// POST /v1/instances/{id}/resume.
	Health *campaign.Health `json:"health,omitempty"`
}

// webhookURL is the instance's webhook address; with secret "" it is the
// address without its credential (shown after creation, when the plain
// secret is gone).
func (s *Server) webhookURL(id, secret string) string {
	u := strings.TrimRight(s.opts.PublicBaseURL, "/") + "/v1/webhooks/wuzapi/" + id
	if secret != "" {
		u += "?secret=" + url.QueryEscape(secret)
	}
	return u
}

// guard is the SSRF guard for tenants' WuzAPI URLs.
func (s *Server) guard() wuzapi.Guard {
	return wuzapi.Guard{AllowPrivate: s.opts.AllowPrivateWuzapi, Resolver: s.opts.WuzapiResolver}
}

// withWuzapi calls fn with a client of the instance; connections are
// checked by the guard at dial time too.
func (s *Server) withWuzapi(inst campaign.Instance, fn func(c *wuzapi.Client) error) error {
	hc := s.guard().HTTPClient(10 * time.Second)
	defer hc.CloseIdleConnections()
	return fn(wuzapi.New(inst.BaseURL, inst.Token, hc))
}

// wuzapiError answers a failed WuzAPI call: the tenant's instance answered
// badly (INVALID_STATE) or not at all (UNAVAILABLE), with a reason written
// for a person, never WuzAPI's raw answer (which may be an HTML page).
func wuzapiError(err error) error {
	var e *wuzapi.Error
	if !errors.As(err, &e) {
		return err
	}
	if e.Class == wuzapi.Transient {
		return errcode.Wrap(err, errcode.Unavailable, capitalize(wuzapi.Reason(err)))
	}
	return errcode.Wrap(err, errcode.InvalidState, capitalize(wuzapi.Reason(err)))
}

// capitalize upper-cases an ASCII first letter: reasons start sentences.
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// limitsIn are the optional send limits of create and PATCH bodies.
type limitsIn struct {
	MessagesPerMinute optional[int] `json:"messagesPerMinute"`
	MinDelayMs        optional[int] `json:"minDelayMs"`
	MaxDelayMs        optional[int] `json:"maxDelayMs"`
	HourlyCap         optional[int] `json:"hourlyCap"`
	DailyCap          optional[int] `json:"dailyCap"`
	WarmupDays        optional[int] `json:"warmupDays"`
	MaxInFlight       optional[int] `json:"maxInFlight"`
	// Sending safety (docs/sending-safety.md).
	NewContactsPerDay  optional[int]  `json:"newContactsPerDay"`
	NewContactsPerHour optional[int]  `json:"newContactsPerHour"`
	IdenticalPerHour   optional[int]  `json:"identicalPerHour"`
	CheckNumbers       optional[bool] `json:"checkNumbers"`
	Typing             optional[bool] `json:"typing"`
}

// apply merges the given limits into inst and validates the result. A
// delay bound given alone moves the other one so that min <= max.
func (l limitsIn) apply(v *errcode.Validator, inst *campaign.Instance) {
	type field struct {
		name     string
		in       optional[int]
		dst      *int
		min, max int
	}
	fields := []field{
		{"messagesPerMinute", l.MessagesPerMinute, &inst.MessagesPerMinute, 1, 1000},
		{"minDelayMs", l.MinDelayMs, &inst.MinDelayMs, 0, 3_600_000},
		{"maxDelayMs", l.MaxDelayMs, &inst.MaxDelayMs, 0, 3_600_000},
		{"hourlyCap", l.HourlyCap, &inst.HourlyCap, 1, 1_000_000},
		{"dailyCap", l.DailyCap, &inst.DailyCap, 1, 10_000_000},
		{"warmupDays", l.WarmupDays, &inst.WarmupDays, 0, 365},
		{"maxInFlight", l.MaxInFlight, &inst.MaxInFlight, 1, 100},
		{"newContactsPerDay", l.NewContactsPerDay, &inst.NewContactsPerDay, campaign.MinNewContactsPerDay, campaign.MaxNewContactsPerDay},
		{"newContactsPerHour", l.NewContactsPerHour, &inst.NewContactsPerHour, campaign.MinNewContactsPerHour, campaign.MaxNewContactsPerHour},
		{"identicalPerHour", l.IdenticalPerHour, &inst.IdenticalPerHour, campaign.MinIdenticalPerHour, campaign.MaxIdenticalPerHour},
	}
	for _, b := range []struct {
		name string
		in   optional[bool]
		dst  *bool
	}{{"checkNumbers", l.CheckNumbers, &inst.CheckNumbers}, {"typing", l.Typing, &inst.Typing}} {
		if b.in.Set && b.in.Null {
			v.Add(b.name, "invalid", "must be true or false")
		} else if b.in.Set {
			*b.dst = b.in.Value
		}
	}
	for _, f := range fields {
		if !f.in.Set {
			continue
		}
		if f.in.Null || f.in.Value < f.min || f.in.Value > f.max {
			v.Add(f.name, "out_of_range", "must be an integer from "+strconv.Itoa(f.min)+" to "+strconv.Itoa(f.max))
			continue
		}
		*f.dst = f.in.Value
	}
	switch {
	case l.MinDelayMs.Set && !l.MaxDelayMs.Set && inst.MaxDelayMs < inst.MinDelayMs:
		inst.MaxDelayMs = inst.MinDelayMs
	case l.MaxDelayMs.Set && !l.MinDelayMs.Set && inst.MinDelayMs > inst.MaxDelayMs:
		inst.MinDelayMs = inst.MaxDelayMs
	}
	v.Check(inst.MinDelayMs <= inst.MaxDelayMs, "maxDelayMs", "out_of_range", "maxDelayMs must be at least minDelayMs")
}

func (s *Server) createInstance(w http.ResponseWriter, r *http.Request) error {
	t := tenantFrom(r.Context())
	var in struct {
		Name             string `json:"name"`
		BaseURL          string `json:"baseUrl"`
		Token            string `json:"token"`
		ConfigureWebhook bool   `json:"configureWebhook"`
		limitsIn
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	inst := campaign.Instance{
		TenantID: t.ID, Name: strings.TrimSpace(in.Name), Token: strings.TrimSpace(in.Token),
		MessagesPerMinute: campaign.DefaultMessagesPerMinute, MinDelayMs: campaign.DefaultMinDelayMs,
		MaxDelayMs: campaign.DefaultMaxDelayMs, HourlyCap: campaign.DefaultHourlyCap, DailyCap: campaign.DefaultDailyCap,
		WarmupDays: campaign.DefaultWarmupDays, MaxInFlight: campaign.DefaultMaxInFlight,
		CheckNumbers: campaign.DefaultCheckNumbers, Typing: campaign.DefaultTyping,
		NewContactsPerDay: campaign.DefaultNewContactsPerDay, NewContactsPerHour: campaign.DefaultNewContactsPerHour,
		IdenticalPerHour: campaign.DefaultIdenticalPerHour,
	}
	var v errcode.Validator
	v.Check(inst.Name != "" && len(inst.Name) <= 200, "name", "required", "name is required (at most 200 characters)")
	v.Check(inst.Token != "" && len(inst.Token) <= 1000, "token", "required", "token (the WuzAPI user token) is required")
	if strings.TrimSpace(in.BaseURL) == "" {
		v.Add("baseUrl", "required", "baseUrl is required")
	} else if base, err := s.guard().CheckBaseURL(r.Context(), in.BaseURL); err != nil {
		var ue *wuzapi.URLError
		if !errors.As(err, &ue) {
			return err
		}
		v.Add("baseUrl", ue.Code, ue.Message)
	} else {
		inst.BaseURL = base
	}
	in.limitsIn.apply(&v, &inst)
	if err := v.Err(); err != nil {
		return err
	}

	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	inst.ID = id.String()
	secret := newWebhookSecret()
	hookURL := s.webhookURL(inst.ID, secret)
	if in.ConfigureWebhook {
		// Before the insert, so a refusal leaves nothing behind.
		err := s.withWuzapi(inst, func(c *wuzapi.Client) error {
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
			defer cancel()
			return c.SetWebhook(ctx, hookURL, wuzapi.DefaultEvents)
		})
		if err != nil {
			return errcode.Validation(errcode.Detail{Field: "configureWebhook", Code: "webhook_failed",
				Message: "could not register the webhook on the WuzAPI instance: " + wuzapi.Reason(err)})
		}
	}
	sum := sha256.Sum256([]byte(secret))
	created, err := s.opts.DB.CreateInstanceWithin(r.Context(), inst, sum[:], tenantFrom(r.Context()).Plan.MaxInstances())
	if err != nil {
		return err
	}
	writeData(w, http.StatusCreated, instanceView{Instance: created, WebhookURL: hookURL})
	return nil
}

// newWebhookSecret is 32 random bytes, base64url (the webhook URL's secret).
func newWebhookSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request) error {
	p, err := pageFrom(r)
	if err != nil {
		return err
	}
	items, err := s.opts.DB.Instances(r.Context(), tenantFrom(r.Context()).ID, p.After, p.Limit)
	if err != nil {
		return err
	}
	views := make([]instanceView, len(items))
	for i, it := range items {
		views[i] = instanceView{Instance: it, WebhookURL: s.webhookURL(it.ID, "")}
	}
	if err := s.fillHealth(r.Context(), views, nil); err != nil {
		return err
	}
	writeList(w, p, views, func(v instanceView) string { return v.ID })
	return nil
}

func (s *Server) instanceFromPath(r *http.Request) (campaign.Instance, error) {
	id, err := pathID(r, "id", "instance")
	if err != nil {
		return campaign.Instance{}, err
	}
	return s.opts.DB.Instance(r.Context(), tenantFrom(r.Context()).ID, id)
}

func (s *Server) getInstance(w http.ResponseWriter, r *http.Request) error {
	inst, err := s.instanceFromPath(r)
	if err != nil {
		return err
	}
	view := instanceView{Instance: inst, WebhookURL: s.webhookURL(inst.ID, "")}
	err = s.withWuzapi(inst, func(c *wuzapi.Client) error {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		view.Session = &st
		return nil
	})
	var live campaign.InstanceStatus
	if err != nil {
		msg := capitalize(wuzapi.Reason(err))
		view.SessionError, live.SessionError = &msg, msg
	} else {
		live.Connected, live.LoggedIn = &view.Session.Connected, &view.Session.LoggedIn
		if err := s.opts.DB.SetInstanceSession(r.Context(), inst.TenantID, inst.ID, view.Session.Connected, view.Session.LoggedIn); err != nil {
			s.log.WarnContext(r.Context(), "record instance session", "instance_id", inst.ID, "error", err.Error())
		}
	}
	views := []instanceView{view}
	if err := s.fillHealth(r.Context(), views, &live); err != nil {
		return err
	}
	writeJSONData(w, views[0])
	return nil
}

// writeJSONData answers 200 with view, keeping "session": null visible when
// the session could not be read.
func writeJSONData(w http.ResponseWriter, view instanceView) {
	type withNullSession struct {
		instanceView
		Session *wuzapi.Session `json:"session"`
	}
	writeData(w, http.StatusOK, withNullSession{instanceView: view, Session: view.Session})
}

func (s *Server) patchInstance(w http.ResponseWriter, r *http.Request) error {
	inst, err := s.instanceFromPath(r)
	if err != nil {
		return err
	}
	var in struct {
		Name optional[string] `json:"name"`
		limitsIn
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var v errcode.Validator
	if in.Name.Set {
		name := strings.TrimSpace(in.Name.Value)
		v.Check(!in.Name.Null && name != "" && len(name) <= 200, "name", "invalid", "name must be 1 to 200 characters")
		inst.Name = name
	}
	in.limitsIn.apply(&v, &inst)
	if err := v.Err(); err != nil {
		return err
	}
	out, err := s.opts.DB.UpdateInstance(r.Context(), inst)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, instanceView{Instance: out, WebhookURL: s.webhookURL(out.ID, "")})
	return nil
}

func (s *Server) connectInstance(w http.ResponseWriter, r *http.Request) error {
	inst, err := s.instanceFromPath(r)
	if err != nil {
		return err
	}
	var st wuzapi.Session
	err = s.withWuzapi(inst, func(c *wuzapi.Client) error {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := c.Connect(ctx, wuzapi.DefaultEvents); err != nil {
			return err
		}
		st, err = c.Status(ctx)
		return err
	})
	if err != nil {
		return wuzapiError(err)
	}
	if err := s.opts.DB.SetInstanceSession(r.Context(), inst.TenantID, inst.ID, st.Connected, st.LoggedIn); err != nil {
		s.log.WarnContext(r.Context(), "record instance session", "instance_id", inst.ID, "error", err.Error())
	}
	writeData(w, http.StatusOK, st)
	return nil
}

func (s *Server) instanceQR(w http.ResponseWriter, r *http.Request) error {
	inst, err := s.instanceFromPath(r)
	if err != nil {
		return err
	}
	var qr string
	err = s.withWuzapi(inst, func(c *wuzapi.Client) error {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		if st.LoggedIn {
			return errcode.New(errcode.InvalidState, "the instance is already logged in; there is no QR code to scan")
		}
		if !st.Connected {
			return errcode.New(errcode.InvalidState, "the instance is not connected: POST /v1/instances/%s/connect first", inst.ID)
		}
		qr, err = c.QR(ctx)
		if wuzapi.IsAlreadyLoggedIn(err) {
			return errcode.New(errcode.InvalidState, "the instance is already logged in; there is no QR code to scan")
		}
		return err
	})
	if err != nil {
		return wuzapiError(err)
	}
	writeData(w, http.StatusOK, map[string]string{"qrCode": qr})
	return nil
}
