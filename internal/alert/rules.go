package alert

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/wuzapi-manager/wuzapi-manager/internal/telemetry"
)

// Thresholds are the limits at which the alerts fire.
type Thresholds struct {
	ErrorRateWarning, ErrorRateCritical float64 // fraction of HTTP answers that are 5xx
	LatencyWarning, LatencyCritical     float64 // p95 seconds
	MemoryWarning, MemoryCritical       float64 // fraction of the Lambda memory size
}

// DefaultThresholds are 1 % / 5 % errors, p95 2 s / 5 s, memory 80 % / 90 %.
var DefaultThresholds = Thresholds{
	ErrorRateWarning: 0.01, ErrorRateCritical: 0.05,
	LatencyWarning: 2, LatencyCritical: 5,
	MemoryWarning: 0.8, MemoryCritical: 0.9,
}

// The alert types.
const (
	TypeErrorRate = "High Error Rate"
	TypeLatency   = "High Latency"
	TypeMemory    = "High Memory Usage"
	TypePostgres  = "Postgres Unavailable"
	TypeRedis     = "Redis Unavailable"
	TypeSQS       = "SQS Unavailable"
	TypeDLQ       = "Dead-Letter Queue Not Empty"
	TypeWuzAPI    = "WuzAPI Instance Unavailable"
)

// WindowAlerts are the alerts a metrics window over windowMinutes raises:
// error rate, p95 latency and memory.
func WindowAlerts(w telemetry.Window, th Thresholds, windowMinutes int) []Alert {
	var out []Alert
	if rate := w.ErrorRate(); rate > th.ErrorRateWarning {
		sev := Warning
		if rate > th.ErrorRateCritical {
			sev = Critical
		}
		out = append(out, Alert{Type: TypeErrorRate, Severity: sev, Message: fmt.Sprintf(
			"Error rate is %.2f%% in the last %d minutes (%.0f of %.0f requests answered 5xx)",
			rate*100, windowMinutes, w.Errors, w.Requests)})
	}
	if p95, ok := w.Quantile(0.95); ok && p95 > th.LatencyWarning {
		sev := Warning
		if p95 > th.LatencyCritical {
			sev = Critical
		}
		text := fmt.Sprintf("%.0fms", p95*1000)
		if math.IsInf(p95, 1) {
			text = fmt.Sprintf("above %.0fms", telemetry.HTTPBuckets[len(telemetry.HTTPBuckets)-1]*1000)
		}
		out = append(out, Alert{Type: TypeLatency, Severity: sev, Message: fmt.Sprintf(
			"P95 latency is %s in the last %d minutes (threshold: %.0fms)", text, windowMinutes, th.LatencyWarning*1000)})
	}
	var hot []string
	sev := Warning
	for fn, ratio := range w.Memory {
		if ratio > th.MemoryWarning {
			hot = append(hot, fmt.Sprintf("%s %.1f%%", fn, ratio*100))
			if ratio > th.MemoryCritical {
				sev = Critical
			}
		}
	}
	if len(hot) > 0 {
		sort.Strings(hot)
		out = append(out, Alert{Type: TypeMemory, Severity: sev, Message: fmt.Sprintf(
			"Memory usage of the Lambda memory size in the last %d minutes: %s", windowMinutes, strings.Join(hot, ", "))})
	}
	return out
}
