package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/tenant"
)

// TestPathIDAsUUIDParse: pathID gives what uuid.Parse and String give, or
// NOT_FOUND, and takes a canonical id as it is, without allocating.
func TestPathIDAsUUIDParse(t *testing.T) {
	const id = "0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c11"
	for _, v := range []string{id, "0B7C5B0E-1C1A-4F5E-9D7A-0A8E7F9B2C11", "{" + id + "}", "urn:uuid:" + id,
		"0b7c5b0e1c1a4f5e9d7a0a8e7f9b2c11", "0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c1g", "0b7c5b0e-1c1a-4f5e-9d7a+0a8e7f9b2c11",
		"0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c1", "", "x"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.SetPathValue("id", v)
		got, err := pathID(r, "id", "campaign")
		want, werr := uuid.Parse(v)
		switch {
		case werr != nil && errcode.CodeOf(err) != errcode.NotFound:
			t.Errorf("pathID(%q) = %q, %v; want NOT_FOUND", v, got, err)
		case werr == nil && (err != nil || got != want.String()):
			t.Errorf("pathID(%q) = %q, %v; want %q", v, got, err, want.String())
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.SetPathValue("id", id)
	if allocs := testing.AllocsPerRun(100, func() { _, _ = pathID(r, "id", "campaign") }); allocs != 0 {
		t.Errorf("pathID of a canonical id: %.0f allocations, want 0", allocs)
	}
}

// TestTenantContextIsOneAllocation: the tenant and its allowance ride in
// one context (context.WithValue twice made four allocations), and reading
// them back allocates nothing.
func TestTenantContextIsOneAllocation(t *testing.T) {
	ten := tenant.Tenant{ID: "t1", Plan: tenant.PlanEnterprise}
	rl := rateLimitState{Limit: 2000, Remaining: 1999, ResetSeconds: 1}
	r := httptest.NewRequest("GET", "/v1/me", nil)
	var ctx context.Context
	if allocs := testing.AllocsPerRun(100, func() { ctx = withTenant(r.Context(), ten, &rl) }); allocs != 1 {
		t.Errorf("withTenant: %.0f allocations, want 1", allocs)
	}
	s := &Server{}
	rr := r.WithContext(ctx)
	var got tenant.Tenant
	var gotRL rateLimitState
	if allocs := testing.AllocsPerRun(100, func() { got, gotRL = tenantFrom(ctx), s.rateLimitState(rr, got) }); allocs != 0 {
		t.Errorf("reading them back: %.0f allocations, want 0", allocs)
	}
	if got != ten || gotRL != rl {
		t.Errorf("read back %+v %+v, want %+v %+v", got, gotRL, ten, rl)
	}
	unlimited := r.WithContext(withTenant(r.Context(), ten, nil))
	if st := s.rateLimitState(unlimited, ten); st.Limit != ten.Plan.RequestsPerMinute() || st.Remaining != st.Limit {
		t.Errorf("without the limiter's state: %+v, want the plan's full allowance", st)
	}
	if got := tenantFrom(context.Background()); got != (tenant.Tenant{}) {
		t.Errorf("no tenant: %+v", got)
	}
}

// headerWriter is a response writer that keeps nothing: what an answer's
// writing allocates itself.
type headerWriter struct{ h http.Header }

func (w *headerWriter) Header() http.Header         { return w.h }
func (w *headerWriter) WriteHeader(int)             {}
func (w *headerWriter) Write(b []byte) (int, error) { return len(b), nil }

// TestJSONHeaderIsOneAllocation: a JSON answer's Content-Type,
// Cache-Control and Vary are what Header.Set and Add store, from one
// backing array (Set, Set and Add made three), after a Vary or none.
func TestJSONHeaderIsOneAllocation(t *testing.T) {
	for _, before := range [][]string{nil, {"Accept-Encoding"}, {"Origin", "Accept-Encoding"}} {
		w := &headerWriter{h: http.Header{}}
		want := http.Header{}
		for _, v := range before {
			w.h.Add("Vary", v)
			want.Add("Vary", v)
		}
		jsonHeader(w, http.StatusOK)
		want.Set("Content-Type", "application/json; charset=utf-8")
		want.Set("Cache-Control", "no-store")
		want.Add("Vary", "Authorization")
		if !reflect.DeepEqual(w.h, want) {
			t.Errorf("after Vary %q: headers %v, want %v", before, w.h, want)
		}
	}
	w := &headerWriter{h: http.Header{}}
	allocs := testing.AllocsPerRun(200, func() {
		clear(w.h)
		w.h["Vary"] = []string{"Accept-Encoding"}
		jsonHeader(w, http.StatusOK)
	})
	if allocs > 2 { // the Vary set above, and jsonHeader's one
		t.Errorf("jsonHeader: %.0f allocations, want 1", allocs-1)
	}
}

// TestCachedKeyAllocatesNothing: a key the cache holds (under
// tenant.HashKey's hash) is found without allocating.
func TestCachedKeyAllocatesNothing(t *testing.T) {
	const key = tenant.KeyPrefix + "0123456789abcdef0123456789abcdef"
	ten := tenant.Tenant{ID: "t1", Plan: tenant.PlanEnterprise}
	now := time.Now()
	s := &Server{opts: Options{AuthCacheTTL: time.Hour}, now: func() time.Time { return now }}
	s.keys.put(tenant.HashKey(key), ten, now.Add(time.Hour), now)
	ctx := context.Background()
	var got tenant.Tenant
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if got, err = s.tenantByKey(ctx, key); err != nil {
			t.Fatal(err)
		}
	})
	if got != ten || allocs != 0 {
		t.Errorf("cached key: %+v in %.0f allocations, want %+v in 0", got, allocs, ten)
	}
}

// TestRouteChecksAllocateNothing: a request without a query string has its
// text checked, and an Accept-Encoding negotiated, without allocating
// (r.URL.Query built an empty map, strings.Split a slice).
func TestRouteChecksAllocateNothing(t *testing.T) {
	r := httptest.NewRequest("GET", "/v1/campaigns/0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c11/status", nil)
	values := []string{"gzip, deflate, br;q=0.9"}
	var enc string
	var bad bool
	allocs := testing.AllocsPerRun(100, func() {
		_, bad = badTextParam(r)
		enc = negotiateEncoding(values)
	})
	if bad || enc != "gzip" || allocs != 0 {
		t.Errorf("bad text %v, encoding %q, %.0f allocations; want false, gzip, 0", bad, enc, allocs)
	}
}
