package httpapi

import (
	"crypto/subtle"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
)

// metrics serves GET /metrics in the Prometheus text format: the totals of
// the whole fleet read from Redis (Options.Fleet), or this instance's own
// registry without one. With METRICS_TOKEN set it takes
// "Authorization: Bearer <token>", compared in constant time. It is neither
// traced nor rate limited; compression is left to the response layer.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) error {
	if tok := s.opts.MetricsToken; tok != "" {
		key, ok := bearer(r)
		if !ok || subtle.ConstantTimeCompare([]byte(key), []byte(tok)) != 1 {
			return errcode.New(errcode.Unauthorized, "missing or invalid metrics token")
		}
	}
	var g prometheus.Gatherer = s.opts.Metrics.Registry
	if s.opts.Fleet != nil {
		reg, err := s.opts.Fleet.Registry(r.Context())
		if err != nil {
			return errcode.New(errcode.Unavailable, "metrics store unavailable: %v", err)
		}
		g = reg
	}
	promhttp.HandlerFor(g, promhttp.HandlerOpts{DisableCompression: true}).ServeHTTP(w, r)
	return nil
}
