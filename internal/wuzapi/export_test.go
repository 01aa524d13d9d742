package wuzapi

import (
	"crypto/x509"
	"time"
)

// SetRootCAs makes p trust roots instead of the system's (a test server's
// certificate).
func SetRootCAs(p *Pool, roots *x509.CertPool) { p.rootCAs = roots }

// ExpireIdle sets every idle connection's deadline in the past, as a
// connection idle for longer than its last call's bound has it.
func ExpireIdle(p *Pool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, idle := range p.idle {
		for _, pc := range idle {
			_ = pc.conn.SetDeadline(time.Unix(1, 0))
		}
	}
}
