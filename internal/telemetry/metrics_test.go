package telemetry

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricNames(t *testing.T) {
	m := NewMetrics()
	m.HTTPRequests.WithLabelValues("GET", "GET /v1/me", "200", "t1").Inc()
	m.HTTPDuration.WithLabelValues("GET", "GET /v1/me", "200").Observe(0.02)
	m.CacheHits.WithLabelValues("tenant:plan").Inc()
	m.CacheMisses.WithLabelValues("tenant:plan").Inc()
	m.ActiveSessions.Set(1)
	m.QueueJobs.WithLabelValues("campaigns", "visible").Set(3)
	m.CampaignMessages.WithLabelValues("sent").Inc()
	m.ImportRows.WithLabelValues("imported").Inc()
	m.RateLimitRejections.WithLabelValues("free").Inc()
	want := []string{"http_requests_total", "http_request_duration_seconds", "redis_cache_hits_total",
		"redis_cache_misses_total", "active_sessions_total", "queue_jobs_total", "campaign_messages_total",
		"import_rows_total", "rate_limit_rejections_total"}
	n, err := testutil.GatherAndCount(m.Registry, want...)
	if err != nil || n != len(want) {
		t.Fatalf("gathered %d series of %v (err %v), want %d", n, want, err, len(want))
	}
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(`
# HELP campaign_messages_total Campaign messages by outcome.
# TYPE campaign_messages_total counter
campaign_messages_total{status="sent"} 1
`), "campaign_messages_total"); err != nil {
		t.Fatal(err)
	}
}
