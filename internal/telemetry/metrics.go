// Package telemetry is the functions' observability: the
// Prometheus metrics (names and labels are a contract with dashboards and
// alert rules) on a registry of their own, never the global one; their
// fleet-wide totals in Redis (fleet.go); the OpenTelemetry tracer provider
// (tracing.go); the Lambda invocation wrapper that opens the invocation's
// span and flushes spans and metrics before it returns (lambda.go); and the
// trace propagation through SQS (sqs.go) and outgoing HTTP (httpclient.go).
//
// Limits: every flush walks all of the instance's series (a few hundred
// per API instance; more with many tenants, as tenant_id is a label), and
// spans are exported only when an invocation ends or 512 have piled up.
package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

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

// HTTPBuckets are the HTTP latency buckets, in seconds.
var HTTPBuckets = []float64{0.01, 0.05, 0.1, 0.5, 1, 2, 5}

// family is the one declaration of a metric: its name, help, kind and
// labels. NewMetrics builds the instance's collectors from it and the fleet
// side (fleet.go) renders the totals with it.
type family struct {
	name, help string
	kind       dto.MetricType
	labels     []string
}

// The metric families; names and labels are a contract with dashboards and
// alert rules.
var (
	famHTTPRequests        = family{"http_requests_total", "HTTP requests answered, by route pattern.", dto.MetricType_COUNTER, []string{"method", "route", "status_code", "tenant_id"}}
	famHTTPDuration        = family{"http_request_duration_seconds", "HTTP request latency, by route pattern.", dto.MetricType_HISTOGRAM, []string{"method", "route", "status_code"}}
	famCacheHits           = family{"redis_cache_hits_total", "Cache lookups answered from a cache.", dto.MetricType_COUNTER, []string{"cache_key"}}
	famCacheMisses         = family{"redis_cache_misses_total", "Cache lookups that fell through to the source.", dto.MetricType_COUNTER, []string{"cache_key"}}
	famActiveSessions      = family{"active_sessions_total", "WhatsApp instances connected and logged in at the last check.", dto.MetricType_GAUGE, nil}
	famQueueJobs           = family{"queue_jobs_total", "Messages in each queue, by state (visible, in_flight, delayed, dead).", dto.MetricType_GAUGE, []string{"queue_name", "status"}}
	famCampaignMessages    = family{"campaign_messages_total", "Campaign messages by outcome.", dto.MetricType_COUNTER, []string{"status"}}
	famImportRows          = family{"import_rows_total", "Imported CSV rows by result.", dto.MetricType_COUNTER, []string{"result"}}
	famRateLimitRejections = family{"rate_limit_rejections_total", "API requests refused by the rate limiter, by plan.", dto.MetricType_COUNTER, []string{"plan"}}
)

// families are the metric families in the order /metrics shows them.
var families = []family{
	famHTTPRequests, famHTTPDuration, famCacheHits, famCacheMisses, famActiveSessions,
	famQueueJobs, famCampaignMessages, famImportRows, famRateLimitRejections,
}

func (f family) counterVec() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: f.name, Help: f.help}, f.labels)
}

func (f family) gaugeVec() *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: f.name, Help: f.help}, f.labels)
}

// NewMetrics creates the metrics on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry:     prometheus.NewRegistry(),
		HTTPRequests: famHTTPRequests.counterVec(),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: famHTTPDuration.name, Help: famHTTPDuration.help, Buckets: HTTPBuckets,
		}, famHTTPDuration.labels),
		CacheHits:           famCacheHits.counterVec(),
		CacheMisses:         famCacheMisses.counterVec(),
		ActiveSessions:      prometheus.NewGauge(prometheus.GaugeOpts{Name: famActiveSessions.name, Help: famActiveSessions.help}),
		QueueJobs:           famQueueJobs.gaugeVec(),
		CampaignMessages:    famCampaignMessages.counterVec(),
		ImportRows:          famImportRows.counterVec(),
		RateLimitRejections: famRateLimitRejections.counterVec(),
	}
	m.Registry.MustRegister(m.HTTPRequests, m.HTTPDuration, m.CacheHits, m.CacheMisses,
		m.ActiveSessions, m.QueueJobs, m.CampaignMessages, m.ImportRows, m.RateLimitRejections)
	return m
}
