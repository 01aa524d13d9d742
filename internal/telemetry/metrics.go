// Package telemetry is the functions' observability (design §8): the
// Prometheus metrics of §8.2 (names and labels are the origin design's
// contract) on a registry of their own, never the global one; their
// fleet-wide totals in Redis (fleet.go); the OpenTelemetry tracer provider
// (tracing.go); the Lambda invocation wrapper that opens the invocation's
// span and flushes spans and metrics before it returns (lambda.go); and the
// trace propagation through SQS (sqs.go) and outgoing HTTP (httpclient.go).
//
// Limits: every flush walks all of the instance's series (a few hundred
// per API instance; more with many tenants, as tenant_id is a label), and
// spans are exported only when an invocation ends or 512 have piled up.
package telemetry

import "github.com/prometheus/client_golang/prometheus"

// Metrics are every metric the functions record.
type Metrics struct {
	Registry *prometheus.Registry

	HTTPRequests        *prometheus.CounterVec   // http_requests_total{method,route,status_code,tenant_id}
	HTTPDuration        *prometheus.HistogramVec // http_request_duration_seconds{method,route,status_code}
	CacheHits           *prometheus.CounterVec   // redis_cache_hits_total{cache_key}
	CacheMisses         *prometheus.CounterVec   // redis_cache_misses_total{cache_key}
	ActiveSessions      prometheus.Gauge         // active_sessions_total (a gauge despite the name)
	QueueJobs           *prometheus.GaugeVec     // queue_jobs_total{queue_name,status} (a gauge despite the name)
	CampaignMessages    *prometheus.CounterVec   // campaign_messages_total{status}
	ImportRows          *prometheus.CounterVec   // import_rows_total{result}
	RateLimitRejections *prometheus.CounterVec   // rate_limit_rejections_total{plan}
}

// HTTPBuckets are the latency buckets of the origin design, in seconds.
var HTTPBuckets = []float64{0.01, 0.05, 0.1, 0.5, 1, 2, 5}

// NewMetrics creates the metrics on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "HTTP requests answered, by route pattern.",
		}, []string{"method", "route", "status_code", "tenant_id"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "HTTP request latency, by route pattern.", Buckets: HTTPBuckets,
		}, []string{"method", "route", "status_code"}),
		CacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redis_cache_hits_total", Help: "Cache lookups answered from a cache.",
		}, []string{"cache_key"}),
		CacheMisses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redis_cache_misses_total", Help: "Cache lookups that fell through to the source.",
		}, []string{"cache_key"}),
		ActiveSessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "active_sessions_total", Help: "WhatsApp instances connected and logged in at the last check.",
		}),
		QueueJobs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "queue_jobs_total", Help: "Messages in each queue, by state (visible, in_flight, delayed, dead).",
		}, []string{"queue_name", "status"}),
		CampaignMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campaign_messages_total", Help: "Campaign messages by outcome.",
		}, []string{"status"}),
		ImportRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "import_rows_total", Help: "Imported CSV rows by result.",
		}, []string{"result"}),
		RateLimitRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rate_limit_rejections_total", Help: "API requests refused by the rate limiter, by plan.",
		}, []string{"plan"}),
	}
	m.Registry.MustRegister(m.HTTPRequests, m.HTTPDuration, m.CacheHits, m.CacheMisses,
		m.ActiveSessions, m.QueueJobs, m.CampaignMessages, m.ImportRows, m.RateLimitRejections)
	return m
}
