// Package httpapi is the HTTP API as a plain http.Handler: the
// JSON envelope, authentication, routing and every route's handler. The api
// function adapts it to API Gateway events; tests call it directly.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/limit"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
)

// QueueProber checks that the queues answer; used by /health.
type QueueProber interface {
	Probe(ctx context.Context) error
}

// Options are the dependencies of a Server. DB, Redis and Logger are required.
type Options struct {
	// --- dependencies ---

	DB     *postgres.DB
	Redis  *redis.Client
	Queues QueueProber
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// PublicBaseURL is where clients reach the API (for absolute URLs).
	PublicBaseURL string

	// --- keys and limits ---

	// AdminAPIKey guards the admin routes; empty disables them (always 401).
	AdminAPIKey string
	// AuthCacheTTL is how long an API key's tenant is remembered in-process
	// (0 disables): other instances honour a revocation within this time.
	AuthCacheTTL time.Duration
	// Limiter applies the API rate limits (ratelimit.go); nil
	// disables them.
	Limiter *limit.API
	// OnPlanChange is called after an admin changes a tenant's plan, so the
	// plan cache can be invalidated everywhere.
	OnPlanChange func(ctx context.Context, tenantID string)

	// --- instances and campaigns ---

	// AllowPrivateWuzapi lets instance base URLs resolve to loopback and
	// private addresses (ALLOW_PRIVATE_WUZAPI; link-local and metadata
	// addresses are refused regardless).
	AllowPrivateWuzapi bool
	// WuzapiResolver resolves instance hosts for the SSRF guard;
	// net.DefaultResolver when nil.
	WuzapiResolver wuzapi.Resolver
	// Chunks enqueues campaign chunks. When nil (or failing) a campaign is
	// still created; the scheduler's requeue job enqueues it.
	Chunks campaign.Enqueuer
	// Sends reads an instance's counts of the day from the send limiter
	// (limit.Sender) for the instances' health; nil: health's today is null.
	Sends campaign.BudgetReader

	// --- WuzAPI webhooks and receipts ---

	// WebhookHMACKey, when set, requires every WuzAPI webhook to carry a valid
	// X-Hmac-Signature (an instance's own webhook_hmac_key takes precedence).
	WebhookHMACKey string
	// UndeliveredAfter is how long a sent message may go without a delivery
	// receipt before it counts as undelivered; 24 hours when 0.
	UndeliveredAfter time.Duration

	// --- imports and contacts ---

	// Uploads presigns the PUT of an import's CSV and the GET of its rejected
	// rows; the import routes answer UNAVAILABLE without it.
	Uploads Presigner
	// ImportMaxBytes is the largest CSV an import reads; importer.DefaultMaxBytes when 0.
	ImportMaxBytes int64

	// --- reports ---

	// ReportsQueueURL is the queue POST /v1/reports writes report.generate to.
	ReportsQueueURL string
	// ReportSender queues report messages (queue.Client); without it POST
	// /v1/reports answers UNAVAILABLE.
	ReportSender MessageSender
	// ReportLinks presigns report downloads (blob.Store); without it a
	// completed report has no downloadUrl.
	ReportLinks ReportLinker
	// ReportLinkTTL is how long a downloadUrl works; 15 minutes when 0.
	ReportLinkTTL time.Duration

	// --- telemetry ---

	// Metrics records the API's metrics; a fresh set when nil.
	Metrics *telemetry.Metrics
	// MetricsToken guards GET /metrics when set.
	MetricsToken string
	// Tracing records a span per request, named by its route pattern; nil
	// or off: no spans.
	Tracing *telemetry.Tracing
	// Fleet is the fleet-wide metrics store GET /metrics renders; nil: the
	// instance's own registry.
	Fleet *telemetry.Fleet

	// --- tenant webhooks ---

	// WebhooksQueueURL is where a manual retry asks for a delivery run;
	// WebhookSender sends it (queue.Client). Without them the scheduler's
	// relay asks within a minute.
	WebhooksQueueURL string
	WebhookSender    MessageSender
}

// Server serves the HTTP API.
type Server struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	mux     *http.ServeMux
	routes  []string
	keys    keyCache       // API key → tenant (ratelimit.go)
	gate    webhookGate    // client IPs over their wrong-secret allowance (webhookgate.go)
	series  *requestSeries // request metrics by label values (observe.go)
	handler http.Handler   // route wrapped by compression
	// campaigns validates, stores and enqueues new campaigns.
	campaigns *campaign.Service
}

// New builds a Server with every route registered.
func New(opts Options) *Server {
	s := &Server{opts: opts, log: opts.Logger, now: opts.Now, mux: http.NewServeMux()}
	if s.now == nil {
		s.now = time.Now
	}
	if s.opts.Metrics == nil {
		s.opts.Metrics = telemetry.NewMetrics()
	}
	s.series = &requestSeries{metrics: s.opts.Metrics}
	s.campaigns = &campaign.Service{Store: opts.DB, Queue: opts.Chunks, Logger: opts.Logger, Now: s.now}
	s.registerRoutes()
	s.handler = compress(http.HandlerFunc(s.route))
	return s
}

// apiFunc is a route handler; a returned error is written as the envelope.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers fn under a Go 1.22 method+path pattern.
func (s *Server) handle(pattern string, fn apiFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			writeError(w, r, s.log, err)
		}
	}))
}

// Routes lists every registered pattern ("GET /v1/me"), for the API
// description's completeness test.
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// ServeHTTP serves r: observed (metrics, traces), then compressed,
// then routed.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.observe(w, r, s.handler.ServeHTTP)
}

// route routes r, answering unknown routes and methods in the envelope.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			s.log.ErrorContext(r.Context(), "handler panicked", "panic", v, "stack", string(debug.Stack()))
			writeError(w, r, s.log, errcode.New(errcode.Internal, "internal error"))
		}
	}()
	if r.ContentLength > maxBodyFor(r) {
		writeError(w, r, s.log, tooLargeFor(r))
		return
	}
	h, pattern := s.mux.Handler(r)
	if s.preLimit(w, r, pattern) { // limits by route (ratelimit.go)
		return
	}
	if pattern == "" {
		s.unrouted(w, r, h)
		return
	}
	if field, bad := badTextParam(r); bad {
		writeError(w, r, s.log, invalidText(field))
		return
	}
	s.mux.ServeHTTP(w, r)
}

// unrouted turns the mux's plain-text 404/405 (and path-cleaning redirects)
// into envelope answers.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	switch rec.Code {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.Header().Get("Allow"))
		writeError(w, r, s.log, errcode.New(errcode.MethodNotAllowed, "method %s is not allowed on %s", r.Method, r.URL.Path))
	case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		w.Header().Set("Location", rec.Header().Get("Location"))
		w.WriteHeader(rec.Code)
	default:
		writeError(w, r, s.log, errcode.New(errcode.NotFound, "no route for %s %s", r.Method, r.URL.Path))
	}
}

// registerRoutes is the route table, grouped by what a route serves.
func (s *Server) registerRoutes() {
	// The platform itself: probes, scrapes, the API description.
	s.handle("GET /health", s.health)
	s.handle("GET /metrics", s.metrics)
	s.handle("GET /openapi.json", s.openAPI)

	// Operators (the admin key): tenants and their keys.
	s.handle("POST /v1/tenants", s.admin(s.createTenant))
	s.handle("PATCH /v1/tenants/{id}", s.admin(s.updateTenant))
	s.handle("POST /v1/tenants/{id}/api-keys", s.admin(s.createAPIKey))
	s.handle("DELETE /v1/api-keys/{id}", s.admin(s.revokeAPIKey))

	// A tenant's own settings.
	s.handle("GET /v1/me", s.tenant(s.getMe))
	s.handle("PATCH /v1/me", s.tenant(s.patchMe))

	// WuzAPI instances, and the webhook their WuzAPI posts events to
	// (receipts and the like; no API key: the instance's secret).
	s.handle("POST /v1/instances", s.tenant(s.createInstance))
	s.handle("GET /v1/instances", s.tenant(s.listInstances))
	s.handle("GET /v1/instances/{id}", s.tenant(s.getInstance))
	s.handle("PATCH /v1/instances/{id}", s.tenant(s.patchInstance))
	s.handle("POST /v1/instances/{id}/connect", s.tenant(s.connectInstance))
	s.handle("GET /v1/instances/{id}/qr", s.tenant(s.instanceQR))
	s.handle("POST /v1/instances/{id}/resume", s.tenant(s.resumeInstance))
	s.handle("POST /v1/webhooks/wuzapi/{instanceId}", s.wuzapiWebhook)

	// Campaigns.
	s.handle("POST /v1/campaigns", s.tenant(s.createCampaign))
	s.handle("GET /v1/campaigns", s.tenant(s.listCampaigns))
	s.handle("GET /v1/campaigns/{id}", s.tenant(s.getCampaign))
	s.handle("GET /v1/campaigns/{id}/status", s.tenant(s.campaignStatus))
	s.handle("GET /v1/campaigns/{id}/timeline", s.tenant(s.campaignTimeline))
	s.handle("GET /v1/campaigns/{id}/recipients", s.tenant(s.campaignRecipients))
	s.handle("GET /v1/campaigns/{id}/replies", s.tenant(s.campaignReplies))
	s.handle("POST /v1/campaigns/{id}/pause", s.tenant(s.controlCampaign(campaign.ActPause)))
	s.handle("POST /v1/campaigns/{id}/resume", s.tenant(s.controlCampaign(campaign.ActResume)))
	s.handle("POST /v1/campaigns/{id}/cancel", s.tenant(s.controlCampaign(campaign.ActCancel)))
	s.handle("POST /v1/campaigns/{id}/resend", s.tenant(s.resendCampaign))

	// Contacts, and CSV imports into them.
	s.handle("GET /v1/contacts", s.tenant(s.listContacts))
	s.handle("POST /v1/contacts", s.tenant(s.upsertContacts))
	s.handle("PATCH /v1/contacts/{id}", s.tenant(s.patchContact))
	s.handle("DELETE /v1/contacts/{id}", s.tenant(s.deleteContact))
	s.handle("POST /v1/audiences/preview", s.tenant(s.previewAudience))
	s.handle("POST /v1/imports", s.tenant(s.createImport))
	s.handle("GET /v1/imports", s.tenant(s.listImports))
	s.handle("GET /v1/imports/{id}", s.tenant(s.getImport))

	// Campaign media, uploaded like imports and checked before use.
	s.handle("POST /v1/media", s.tenant(s.createMedia))
	s.handle("GET /v1/media", s.tenant(s.listMedia))
	s.handle("GET /v1/media/{id}", s.tenant(s.getMedia))

	// Reports (CSV downloads).
	s.handle("POST /v1/reports", s.tenant(s.createReport))
	s.handle("GET /v1/reports/{id}", s.tenant(s.getReport))

	// Tenant webhooks (endpoints.go).
	s.registerWebhookRoutes()
}
