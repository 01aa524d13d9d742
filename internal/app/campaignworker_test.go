package app

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMessageRecorderCounts: each outcome counts in its own series of
// campaign_messages_total, as a label lookup a send did.
func TestMessageRecorderCounts(t *testing.T) {
	t.Parallel()
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campaign_messages_total"}, []string{"status"})
	record := messageRecorder(vec)
	want := map[string]float64{"sent": 3, "failed": 2, "retried": 1, "other": 1}
	for status, n := range want {
		for range int(n) {
			record(status)
		}
	}
	for status, n := range want {
		if got := testutil.ToFloat64(vec.WithLabelValues(status)); got != n {
			t.Errorf("campaign_messages_total{status=%q} = %v, want %v", status, got, n)
		}
	}
}

// BenchmarkMessageRecorder: a send's count with the series looked up once
// against a label lookup a send.
func BenchmarkMessageRecorder(b *testing.B) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campaign_messages_total"}, []string{"status"})
	b.Run("lookup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			vec.WithLabelValues("sent").Inc()
		}
	})
	b.Run("resolved", func(b *testing.B) {
		record := messageRecorder(vec)
		b.ReportAllocs()
		for b.Loop() {
			record("sent")
		}
	})
}
