package httpapi

import (
	"net/http"
	"strings"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// createdTenant is the admin's view of a new tenant, with its first key.
type createdTenant struct {
	tenant.Tenant
	APIKey string `json:"apiKey"`
}

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name           string      `json:"name"`
		Plan           tenant.Plan `json:"plan"`
		DefaultCountry string      `json:"defaultCountry"`
		Timezone       string      `json:"timezone"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Plan == "" {
		in.Plan = tenant.PlanFree
	}
	if in.DefaultCountry == "" {
		in.DefaultCountry = "BR"
	}
	if in.Timezone == "" {
		in.Timezone = "UTC"
	}
	var v errcode.Validator
	v.Check(in.Name != "" && len(in.Name) <= 200, "name", "required", "name is required (at most 200 characters)")
	checkTenantFields(&v, &in.Plan, &in.DefaultCountry, &in.Timezone)
	if err := v.Err(); err != nil {
		return err
	}
	t, key, err := s.opts.DB.CreateTenant(r.Context(), tenant.Tenant{
		Name: in.Name, Plan: in.Plan, DefaultCountry: in.DefaultCountry, Timezone: in.Timezone,
	})
	if err != nil {
		return err
	}
	writeData(w, http.StatusCreated, createdTenant{Tenant: t, APIKey: key})
	return nil
}

// checkTenantFields validates the settings that are present (non-nil).
func checkTenantFields(v *errcode.Validator, plan *tenant.Plan, country, timezone *string) {
	if plan != nil {
		v.Check(plan.Valid(), "plan", "invalid", "plan must be free, pro or enterprise")
	}
	if country != nil {
		v.Check(tenant.ValidCountry(*country), "defaultCountry", "invalid", "defaultCountry must be an ISO 3166 alpha-2 code such as BR")
	}
	if timezone != nil {
		v.Check(tenant.ValidTimezone(*timezone), "timezone", "invalid", "timezone must be an IANA name such as America/Sao_Paulo")
	}
}

func (s *Server) updateTenant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "tenant")
	if err != nil {
		return err
	}
	var in struct {
		Name     optional[string]      `json:"name"`
		Plan     optional[tenant.Plan] `json:"plan"`
		Timezone optional[string]      `json:"timezone"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var v errcode.Validator
	if name := in.Name.ptr(); name != nil {
		*name = strings.TrimSpace(*name)
		v.Check(*name != "" && len(*name) <= 200, "name", "invalid", "name must be 1 to 200 characters")
	}
	v.Check(!in.Name.Null && !in.Plan.Null && !in.Timezone.Null, "(body)", "null", "fields may be omitted, not null")
	checkTenantFields(&v, in.Plan.ptr(), nil, in.Timezone.ptr())
	if err := v.Err(); err != nil {
		return err
	}
	t, err := s.opts.DB.UpdateTenant(r.Context(), id, postgres.TenantUpdate{
		Name: in.Name.ptr(), Plan: in.Plan.ptr(), Timezone: in.Timezone.ptr(),
	})
	if err != nil {
		return err
	}
	if s.opts.OnPlanChange != nil && in.Plan.Set {
		s.opts.OnPlanChange(r.Context(), t.ID)
	}
	writeData(w, http.StatusOK, t)
	return nil
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "tenant")
	if err != nil {
		return err
	}
	keyID, key, err := s.opts.DB.CreateAPIKey(r.Context(), id)
	if err != nil {
		return err
	}
	writeData(w, http.StatusCreated, map[string]string{"id": keyID, "apiKey": key})
	return nil
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "api key")
	if err != nil {
		return err
	}
	if err := s.opts.DB.RevokeAPIKey(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
