package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/receipt"
)

// defaultUndeliveredAfter is how long a sent message may go without a
// delivery receipt before the campaign status counts it undelivered.
const defaultUndeliveredAfter = 24 * time.Hour

var errWebhookAuth = errcode.New(errcode.Unauthorized, "missing or invalid webhook secret")

type webhookAnswer struct {
	EventID   string `json:"eventId"`
	Type      string `json:"type"`
	Kind      string `json:"kind"`
	Duplicate bool   `json:"duplicate"`
}

// wuzapiWebhook receives WuzAPI's webhook posts. The
// event is committed before it is answered, together with its effects in
// one transaction; if applying it fails, the event alone is committed and
// the scheduler applies it later, so nothing is lost. Every effect is
// idempotent, so WuzAPI's retries and duplicates are harmless.
func (s *Server) wuzapiWebhook(w http.ResponseWriter, r *http.Request) error {
	ip := clientIP(r)
	if wait, ok := s.gate.blocked(ip, s.now()); ok {
		retry := max(int(wait.Seconds()), 1)
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		return errcode.New(errcode.RateLimitExceeded, "too many wrong webhook secrets; retry in %d s", retry)
	}
	inst, err := s.webhookInstance(r)
	if errors.Is(err, errWebhookAuth) && s.opts.Limiter != nil {
		res := s.opts.Limiter.Client(r.Context(), ip)
		if !res.FailedOpen && !res.Allowed {
			s.gate.block(ip, s.now().Add(max(res.RetryAfter, time.Second)), s.now())
		}
		if !s.applyLimit(w, r, res) {
			return nil
		}
	}
	if err != nil {
		return err
	}
	if s.opts.Limiter != nil && !s.applyLimit(w, r, s.opts.Limiter.Webhook(r.Context(), inst.ID)) {
		return nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge()
		}
		return errcode.New(errcode.MalformedJSON, "could not read the webhook body")
	}
	if !s.validSignature(inst, r, body) {
		return errcode.New(errcode.Unauthorized, "missing or invalid X-Hmac-Signature")
	}
	ev, err := receipt.Parse(r.Header.Get("Content-Type"), body)
	if err != nil {
		return errcode.New(errcode.MalformedJSON, "body is not a WuzAPI webhook event")
	}
	if field, bad := badTextField(ev.Payload); bad {
		return invalidText(field)
	}
	if !validText(ev.Type) {
		return invalidText("type")
	}
	sum := sha256.Sum256(body)
	// Applied even when the client has gone: once stored, the event is ours.
	ctx := context.WithoutCancel(r.Context())
	source := receipt.Instance{ID: inst.ID, TenantID: inst.TenantID}
	stored, applyErr, err := s.opts.DB.RecordAndApplyWuzapiEvent(ctx, inst.ID, inst.TenantID, ev.Type, ev.Payload, sum[:],
		func(ctx context.Context, st receipt.Store) error {
			_, err := receipt.Apply(ctx, st, source, ev, s.now())
			return err
		})
	if err != nil {
		return err // not stored: a 500 makes newer WuzAPI servers retry
	}
	if applyErr != nil {
		s.log.ErrorContext(ctx, "apply webhook event (kept for the sweep)", "event_id", stored.ID, "instance_id", inst.ID, "type", ev.Type, "error", applyErr.Error())
	}
	writeData(w, http.StatusOK, webhookAnswer{EventID: stored.ID, Type: ev.Type, Kind: ev.Kind.String(), Duplicate: stored.Duplicate})
	return nil
}

// webhookInstance authenticates the post by the secret its URL carries,
// compared in constant time against the stored hash. An unknown instance,
// a malformed id and a wrong secret are the same 401, and take the same time.
func (s *Server) webhookInstance(r *http.Request) (postgres.WebhookInstance, error) {
	secret := r.URL.Query().Get("secret")
	var inst postgres.WebhookInstance
	found := false
	if id, err := uuid.Parse(r.PathValue("instanceId")); err == nil {
		inst, err = s.opts.DB.WebhookInstance(r.Context(), id.String())
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, errcode.ErrNotFound):
			return inst, err
		}
	}
	want := inst.SecretHash
	if len(want) != sha256.Size {
		want = make([]byte, sha256.Size)
	}
	got := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(got[:], want) != 1 || !found || secret == "" {
		return postgres.WebhookInstance{}, errWebhookAuth
	}
	return inst, nil
}

// validSignature checks X-Hmac-Signature (hex HMAC-SHA256 of the raw body)
// when the instance, or the whole deployment, has an HMAC key.
func (s *Server) validSignature(inst postgres.WebhookInstance, r *http.Request, body []byte) bool {
	key := inst.HMACKey
	if key == "" {
		key = s.opts.WebhookHMACKey
	}
	if key == "" {
		return true
	}
	sig, err := hex.DecodeString(strings.TrimSpace(r.Header.Get("X-Hmac-Signature")))
	if err != nil || len(sig) == 0 {
		return false
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return hmac.Equal(sig, mac.Sum(nil))
}

// undeliveredAfter is Options.UndeliveredAfter or its default.
func (s *Server) undeliveredAfter() time.Duration {
	if s.opts.UndeliveredAfter <= 0 {
		return defaultUndeliveredAfter
	}
	return s.opts.UndeliveredAfter
}
