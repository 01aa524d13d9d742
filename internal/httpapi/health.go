package httpapi

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
)

type healthData struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// health checks every dependency at once, each within a short timeout, and
// answers 503 when any fails. It is neither authenticated nor rate limited,
// so each check shows only "ok" or "error": why a check failed (addresses,
// driver messages) is logged, never answered.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]func(context.Context) error{
		"postgres": s.opts.DB.Ping,
		"redis":    func(ctx context.Context) error { return s.opts.Redis.Ping(ctx).Err() },
		"queues": func(ctx context.Context) error {
			if s.opts.Queues == nil {
				return nil
			}
			return s.opts.Queues.Probe(ctx)
		},
	}
	data := healthData{Status: "ok", Checks: map[string]string{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, check := range checks {
		wg.Go(func() {
			result := "ok"
			if err := check(ctx); err != nil {
				result = "error"
				s.log.WarnContext(ctx, "health check failed", "check", name, "error", err.Error())
			}
			mu.Lock()
			data.Checks[name] = result
			if result != "ok" {
				data.Status = "degraded"
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if data.Status != "ok" {
		writeJSON(w, http.StatusServiceUnavailable, envelope{
			Data: data, Error: "a dependency is unavailable", Code: errcode.Unavailable,
		})
		return nil
	}
	writeData(w, http.StatusOK, data)
	return nil
}
