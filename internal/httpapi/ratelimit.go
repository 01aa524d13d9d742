package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// The API limits are applied in two places:
//   - before routing (preLimit), for requests that are not a tenant's: per
//     client IP (admin
//     routes, /openapi.json, unknown routes, /metrics without a valid
//     METRICS_TOKEN); /health and authenticated scrapes are never limited;
//   - on the webhook route, once the secret is judged: a right one spends
//     the instance's allowance, a wrong one its client IP's, so guessing
//     never spends an instance's allowance (wuzapiWebhook);
//   - after authentication (s.tenant), per tenant by plan; a request whose
//     tenant key is missing or wrong counts against its client IP instead, so
//     guessing keys is limited too.
//
// Every limited response carries RateLimit-Limit, RateLimit-Remaining and
// RateLimit-Reset; a refusal is 429 with Retry-After. When the limiter fails
// open (Redis down) the request goes through without the headers: there is
// no count to report.

// webhookPrefix is the path of WuzAPI's webhook route, limited per instance.
const webhookPrefix = "/v1/webhooks/wuzapi/"

// preLimit applies the limits decided by the route alone and reports whether
// it has answered the request (429).
func (s *Server) preLimit(w http.ResponseWriter, r *http.Request, pattern string) bool {
	if s.opts.Limiter == nil {
		return false
	}
	_, path, _ := strings.Cut(pattern, " ")
	switch {
	case path == "/health":
		return false
	case path == "/metrics" && s.scrapeAuthorized(r):
		// An authenticated scrape is trusted like a webhook's secret (and
		// polled by monitors); an open /metrics is limited per client IP.
		return false
	case strings.HasPrefix(path, webhookPrefix):
		return false // limited once its secret is judged (wuzapiWebhook)
	case isTenantRoute(path):
		return false // limited after authentication
	default:
		return !s.applyLimit(w, r, s.opts.Limiter.Client(r.Context(), clientIP(r)))
	}
}

// scrapeAuthorized reports whether r carries the METRICS_TOKEN (when one is
// set), compared in constant time.
func (s *Server) scrapeAuthorized(r *http.Request) bool {
	key, ok := bearer(r)
	return ok && s.opts.MetricsToken != "" &&
		subtle.ConstantTimeCompare([]byte(key), []byte(s.opts.MetricsToken)) == 1
}

// isTenantRoute reports whether a route pattern's path is a tenant route:
// everything under /v1/ but the admin routes and the webhook.
func isTenantRoute(path string) bool {
	return strings.HasPrefix(path, "/v1/") &&
		path != "/v1/tenants" && !strings.HasPrefix(path, "/v1/tenants/") &&
		!strings.HasPrefix(path, "/v1/api-keys/") &&
		!strings.HasPrefix(path, "/v1/webhooks/")
}

// clientIP is the address the request came from: the API Gateway's sourceIp
// (the apigw adapter puts it in RemoteAddr), never a forwarded header.
func clientIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// limitTenant applies the tenant's plan limit. It returns the request to
// serve, carrying the tenant (with the plan the limiter used, which is
// fresher than a cached tenant row) and the limit state for GET /v1/me, or
// false when it has answered 429.
func (s *Server) limitTenant(w http.ResponseWriter, r *http.Request, t tenant.Tenant) (*http.Request, bool) {
	var rl *rateLimitState
	if s.opts.Limiter != nil {
		check := s.opts.Limiter.Tenant
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			// A read may be served from allowance this instance holds; a
			// write asks Redis, so the plan its caps use is fresh.
			check = s.opts.Limiter.TenantRead
		}
		res := check(r.Context(), t.ID)
		if !s.applyLimit(w, r, res) {
			return r, false
		}
		if res.Plan.Valid() {
			t.Plan = res.Plan
		}
		if !res.FailedOpen {
			rl = &rateLimitState{Limit: res.Limit, Remaining: res.Remaining, ResetSeconds: limit.Seconds(res.ResetAfter)}
		}
	}
	return r.WithContext(withTenant(r.Context(), t, rl)), true
}

// limitClient counts a request without a tenant against its client IP and
// reports whether it may go on; when not, it has answered 429.
func (s *Server) limitClient(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Limiter == nil {
		return true
	}
	return s.applyLimit(w, r, s.opts.Limiter.Client(r.Context(), clientIP(r)))
}

// applyLimit writes the RateLimit headers of res and, when res refuses the
// request, the 429 answer. It reports whether the request may go on.
func (s *Server) applyLimit(w http.ResponseWriter, r *http.Request, res limit.Result) bool {
	if res.FailedOpen {
		return true
	}
	// What Header.Set stores, under the canonical names, from one backing
	// array: a request's limit costs one allocation for its headers.
	v := make([]string, 4)
	v[0], v[1], v[2] = strconv.Itoa(res.Limit), strconv.Itoa(res.Remaining), strconv.Itoa(limit.Seconds(res.ResetAfter))
	h := w.Header()
	h["Ratelimit-Limit"], h["Ratelimit-Remaining"], h["Ratelimit-Reset"] = v[0:1:1], v[1:2:2], v[2:3:3]
	if res.Allowed {
		return true
	}
	retry := max(limit.Seconds(res.RetryAfter), 1)
	v[3] = strconv.Itoa(retry)
	h["Retry-After"] = v[3:4:4]
	writeBody(w, http.StatusTooManyRequests, appendRateLimited(make([]byte, 0, len(rateLimitedBody)+24), retry))
	return false
}

// rateLimitedBody is the start of a 429's envelope, as writeJSON encodes
// envelope{Error: "Too many requests", Code: RATE_LIMIT_EXCEEDED, RetryAfter: &n}.
const rateLimitedBody = `{"success":false,"error":"Too many requests","code":"` + string(errcode.RateLimitExceeded) + `","retryAfter":`

// appendRateLimited appends a 429's body, the envelope writeJSON would
// write, without reflection.
func appendRateLimited(b []byte, retry int) []byte {
	b = append(b, rateLimitedBody...)
	b = strconv.AppendInt(b, int64(retry), 10)
	return append(b, "}\n"...)
}

// keyCache remembers, for Options.AuthCacheTTL, which tenant an API key
// belongs to, so a tenant's request costs no Postgres round trip (the limit
// costs one Redis round trip). A revoked key or a changed tenant setting is
// seen at once by the instance that made the change (admin changes clear
// the cache, PATCH /v1/me forgets its tenant) and by the others within the
// TTL. The plan is not taken from here: the limiter resolves it per request.
// The zero value is ready to use.
type keyCache struct {
	mu      sync.Mutex
	entries map[string]keyEntry // by the key's SHA-256
}

type keyEntry struct {
	tenant  tenant.Tenant
	expires time.Time
}

// maxCachedKeys bounds the cache; expired entries go first.
const maxCachedKeys = 10000

func (c *keyCache) get(hash []byte, now time.Time) (tenant.Tenant, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[string(hash)]
	if !ok || !now.Before(e.expires) {
		return tenant.Tenant{}, false
	}
	return e.tenant, true
}

func (c *keyCache) put(hash []byte, t tenant.Tenant, expires time.Time, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]keyEntry{}
	}
	if len(c.entries) >= maxCachedKeys {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCachedKeys {
			clear(c.entries)
		}
	}
	c.entries[string(hash)] = keyEntry{tenant: t, expires: expires}
}

// forgetTenant drops every key of one tenant.
func (c *keyCache) forgetTenant(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.tenant.ID == id {
			delete(c.entries, k)
		}
	}
}

// clear drops every entry.
func (c *keyCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}

// tenantByKey finds the tenant of a plain API key, from the cache when it
// is on.
func (s *Server) tenantByKey(ctx context.Context, key string) (tenant.Tenant, error) {
	// tenant.HashKey's hash, on the stack: a cached key costs no
	// allocation (the query gets a copy).
	var sum [sha256.Size]byte
	var buf [128]byte
	if len(key) <= len(buf) {
		sum = sha256.Sum256(buf[:copy(buf[:], key)])
	} else {
		sum = sha256.Sum256([]byte(key))
	}
	hash := sum[:]
	ttl := s.opts.AuthCacheTTL
	if ttl <= 0 {
		return s.opts.DB.TenantByAPIKey(ctx, slices.Clone(hash))
	}
	now := s.now()
	if t, ok := s.keys.get(hash, now); ok {
		return t, nil
	}
	t, err := s.opts.DB.TenantByAPIKey(ctx, slices.Clone(hash))
	if err != nil {
		return t, err
	}
	s.keys.put(hash, t, now.Add(ttl), now)
	return t, nil
}
