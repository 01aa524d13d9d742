package httpapi

import (
	"sync"
	"time"
)

// maxGatedClients bounds the webhook gate's memory.
const maxGatedClients = 10_000

// webhookGate remembers, in this process, the client IPs whose wrong
// webhook secrets went over their per-IP allowance, until the limiter lets
// them try again: their next posts are refused before any database lookup.
type webhookGate struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// blocked reports how long ip must still wait, if at all.
func (g *webhookGate) blocked(ip string, now time.Time) (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	u, ok := g.until[ip]
	if !ok || !now.Before(u) {
		return 0, false
	}
	return u.Sub(now), true
}

// block refuses ip until the given time.
func (g *webhookGate) block(ip string, until, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.until == nil || len(g.until) >= maxGatedClients {
		kept := map[string]time.Time{}
		for k, u := range g.until {
			if now.Before(u) && len(kept) < maxGatedClients/2 {
				kept[k] = u
			}
		}
		g.until = kept
	}
	g.until[ip] = until
}
