package httpapi

import (
	"net/http"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// rateLimitState is the tenant's current API allowance, shown by GET /v1/me.
type rateLimitState struct {
	Limit        int `json:"limit"`
	Remaining    int `json:"remaining"`
	ResetSeconds int `json:"resetSeconds"`
}

type meData struct {
	Tenant    tenant.Tenant  `json:"tenant"`
	RateLimit rateLimitState `json:"rateLimit"`
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) error {
	t := tenantFrom(r.Context())
	writeData(w, http.StatusOK, meData{Tenant: t, RateLimit: s.rateLimitState(r, t)})
	return nil
}

// rateLimitState reports the allowance left; without a limiter it is the
// plan's full allowance.
func (s *Server) rateLimitState(r *http.Request, t tenant.Tenant) rateLimitState {
	if c, ok := r.Context().Value(rateLimitKey{}).(*tenantContext); ok {
		return c.rateLimit
	}
	limit := t.Plan.RequestsPerMinute()
	return rateLimitState{Limit: limit, Remaining: limit, ResetSeconds: 0}
}

type rateLimitKey struct{}

func (s *Server) patchMe(w http.ResponseWriter, r *http.Request) error {
	t := tenantFrom(r.Context())
	var in struct {
		Timezone       optional[string]            `json:"timezone"`
		DefaultCountry optional[string]            `json:"defaultCountry"`
		QuietHours     optional[tenant.QuietHours] `json:"quietHours"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var v errcode.Validator
	v.Check(!in.Timezone.Null && !in.DefaultCountry.Null, "(body)", "null", "timezone and defaultCountry may be omitted, not null")
	checkTenantFields(&v, nil, in.DefaultCountry.ptr(), in.Timezone.ptr())
	if q := in.QuietHours.ptr(); q != nil {
		if err := q.Validate(); err != nil {
			v.Add("quietHours", "invalid", err.Error())
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	updated, err := s.opts.DB.UpdateTenantSettings(r.Context(), t.ID, postgres.SettingsUpdate{
		Timezone:       in.Timezone.ptr(),
		DefaultCountry: in.DefaultCountry.ptr(),
		SetQuietHours:  in.QuietHours.Set,
		QuietHours:     in.QuietHours.ptr(),
	})
	if err != nil {
		return err
	}
	s.keys.forgetTenant(t.ID) // the cached tenant row is stale now
	writeData(w, http.StatusOK, meData{Tenant: updated, RateLimit: s.rateLimitState(r, updated)})
	return nil
}
