package httpapi

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

type tenantKey struct{}

// tenantFrom returns the tenant authenticated for this request.
func tenantFrom(ctx context.Context) tenant.Tenant {
	t, _ := ctx.Value(tenantKey{}).(tenant.Tenant)
	return t
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// tenant wraps a tenant route: a live tenant API key or 401.
func (s *Server) tenant(fn apiFunc) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		key, ok := bearer(r)
		if !ok || !strings.HasPrefix(key, tenant.KeyPrefix) {
			return errcode.ErrUnauthorized
		}
		t, err := s.opts.DB.TenantByAPIKey(r.Context(), tenant.HashKey(key))
		if err != nil {
			return err
		}
		observeTenant(r.Context(), t.ID)
		return fn(w, r.WithContext(context.WithValue(r.Context(), tenantKey{}, t)))
	}
}

// admin wraps an admin route: the ADMIN_API_KEY, compared in constant time.
func (s *Server) admin(fn apiFunc) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		key, ok := bearer(r)
		if !ok || s.opts.AdminAPIKey == "" ||
			subtle.ConstantTimeCompare([]byte(key), []byte(s.opts.AdminAPIKey)) != 1 {
			return errcode.New(errcode.Unauthorized, "missing or invalid admin API key")
		}
		return fn(w, r)
	}
}
