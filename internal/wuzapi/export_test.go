package wuzapi

import "crypto/x509"

// SetRootCAs makes p trust roots instead of the system's (a test server's
// certificate).
func SetRootCAs(p *Pool, roots *x509.CertPool) { p.rootCAs = roots }
