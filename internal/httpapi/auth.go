package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

type tenantKey struct{}

// tenantFrom returns the tenant authenticated for this request.
func tenantFrom(ctx context.Context) tenant.Tenant {
	if c, ok := ctx.Value(tenantKey{}).(*tenantContext); ok {
		return c.tenant
	}
	return tenant.Tenant{}
}

// tenantContext carries the authenticated tenant and, when the limiter
// counted the request, the allowance it reported (rateLimitKey): one
// allocation for both, where context.WithValue boxes each value and wraps
// it in a context of its own.
type tenantContext struct {
	context.Context
	tenant    tenant.Tenant
	rateLimit rateLimitState
	limited   bool // rateLimit is set
}

// withTenant is ctx carrying t and, when not nil, its allowance.
func withTenant(ctx context.Context, t tenant.Tenant, rl *rateLimitState) context.Context {
	c := &tenantContext{Context: ctx, tenant: t}
	if rl != nil {
		c.rateLimit, c.limited = *rl, true
	}
	return c
}

func (c *tenantContext) Value(key any) any {
	switch key {
	case tenantKey{}:
		return c
	case rateLimitKey{}:
		if c.limited {
			return c
		}
	}
	return c.Context.Value(key)
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

// tenant wraps a tenant route: a live tenant API key or 401, then the
// tenant's rate limit (ratelimit.go). A request without a valid key counts
// against its client IP.
func (s *Server) tenant(fn apiFunc) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		key, ok := bearer(r)
		if !ok || !strings.HasPrefix(key, tenant.KeyPrefix) {
			if !s.limitClient(w, r) {
				return nil
			}
			return errcode.ErrUnauthorized
		}
		t, err := s.tenantByKey(r.Context(), key)
		if err != nil {
			if errors.Is(err, errcode.ErrUnauthorized) && !s.limitClient(w, r) {
				return nil
			}
			return err
		}
		observeTenant(w, t.ID)
		r, ok = s.limitTenant(w, r, t)
		if !ok {
			return nil
		}
		return fn(w, r)
	}
}

// admin wraps an admin route: the ADMIN_API_KEY, compared in constant time.
// A change made by an admin (a revoked key, a new plan or time zone) clears
// this instance's API key cache, so it is seen here at once.
func (s *Server) admin(fn apiFunc) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		key, ok := bearer(r)
		if !ok || s.opts.AdminAPIKey == "" ||
			subtle.ConstantTimeCompare([]byte(key), []byte(s.opts.AdminAPIKey)) != 1 {
			return errcode.New(errcode.Unauthorized, "missing or invalid admin API key")
		}
		err := fn(w, r)
		if err == nil && r.Method != http.MethodGet {
			s.keys.clear()
		}
		return err
	}
}
