package faults

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// sample is one API request of a good tenant.
type sample struct {
	tenant int
	at     time.Time // when it was sent
	dur    time.Duration
	status int // 0: no answer
	// failedOpen: a 2xx without RateLimit headers, let through uncounted
	// because the limiter's Redis did not answer in time (docs/limits.md).
	failedOpen bool
}

// loadGen makes the good tenants call the API at 1.25x their plan's
// ceiling, open-loop (a slow answer never slows the next request), after
// spending their burst, so the limiter binds all the time.
type loadGen struct {
	s       *suite
	mu      sync.Mutex
	samples []sample
	drained []time.Time // per tenant: its first 429
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// maxInFlight bounds one tenant's requests waiting for an answer (an
// outage must not pile up goroutines).
const maxInFlight = 64

// startLoad drains every good tenant's burst, then keeps calling; it
// returns once every burst is spent.
func (s *suite) startLoad(ctx context.Context) *loadGen {
	ctx, cancel := context.WithCancel(ctx)
	g := &loadGen{s: s, cancel: cancel, drained: make([]time.Time, len(s.good))}
	var ready sync.WaitGroup
	for i, tn := range s.good {
		ready.Add(1)
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.drain(ctx, i, tn)
			ready.Done()
			g.run(ctx, i, tn)
		}()
	}
	ready.Wait()
	return g
}

func (g *loadGen) stop() {
	g.cancel()
	g.wg.Wait()
}

// drain spends tn's burst with 8 parallel callers until one gets 429.
func (g *loadGen) drain(ctx context.Context, i int, tn *tenant) {
	var done atomic.Bool
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() && ctx.Err() == nil {
				status, _, _, _ := g.s.do(ctx, nil, "GET", "/v1/me", tn.key, "")
				if status == 429 && done.CompareAndSwap(false, true) {
					g.mu.Lock()
					g.drained[i] = time.Now()
					g.mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
}

// run calls the API every 0.8 of tn's emission interval: GET /v1/me, the
// open campaign and the campaign list in turn.
func (g *loadGen) run(ctx context.Context, i int, tn *tenant) {
	every := time.Minute / time.Duration(tn.limit) * 4 / 5
	tk := time.NewTicker(every)
	defer tk.Stop()
	var inflight atomic.Int32
	var reqs sync.WaitGroup
	defer reqs.Wait()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		if inflight.Load() >= maxInFlight {
			continue
		}
		path := "/v1/me"
		if id := tn.current(); id != "" && n%3 == 1 {
			path = "/v1/campaigns/" + id
		} else if n%3 == 2 {
			path = "/v1/campaigns?limit=20"
		}
		inflight.Add(1)
		reqs.Add(1)
		go func() {
			defer reqs.Done()
			defer inflight.Add(-1)
			g.call(ctx, i, tn, "GET", path, "")
		}()
	}
}

// call sends one request of tenant i and records it.
func (g *loadGen) call(ctx context.Context, i int, tn *tenant, method, path, body string) (int, []byte) {
	start := time.Now()
	status, b, h, err := g.s.do(ctx, nil, method, path, tn.key, body)
	if err != nil && ctx.Err() != nil {
		return 0, nil // the run ended: not a sample
	}
	failedOpen := status/100 == 2 && h.Get("RateLimit-Limit") == ""
	g.mu.Lock()
	g.samples = append(g.samples, sample{tenant: i, at: start, dur: time.Since(start), status: status, failedOpen: failedOpen})
	g.mu.Unlock()
	return status, b
}

// between returns the samples sent in [from, to).
func (g *loadGen) between(from, to time.Time) []sample {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []sample
	for _, sm := range g.samples {
		if !sm.at.Before(from) && sm.at.Before(to) {
			out = append(out, sm)
		}
	}
	return out
}

// keepCampaigns gives every good tenant an open campaign: when its
// current one has finished, it creates the next (through the API, as the
// tenant would, so the request counts against its allowance). It stops
// with ctx.
func (s *suite) keepCampaigns(ctx context.Context) {
	for i, tn := range s.good {
		s.load.wg.Add(1)
		go func() {
			defer s.load.wg.Done()
			tk := time.NewTicker(time.Second)
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tk.C:
				}
				if id := tn.current(); id != "" && !s.finished(ctx, id) {
					continue
				}
				status, b := s.load.call(ctx, i, tn, "POST", "/v1/campaigns", s.campaignBody(tn))
				if status == 202 {
					tn.mu.Lock()
					tn.campaigns = append(tn.campaigns, jsonField(b, "data", "jobId"))
					tn.mu.Unlock()
				}
			}
		}()
	}
}

// finished reports whether campaign id completed, failed or was cancelled
// (false when the database cannot say).
func (s *suite) finished(ctx context.Context, id string) bool {
	var st string
	err := s.db.QueryRow(ctx, `SELECT status FROM campaigns WHERE id = $1`, id).Scan(&st)
	return err == nil && (st == "completed" || st == "failed" || st == "cancelled")
}
