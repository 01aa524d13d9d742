package wuzapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// BlockedAddressError says an instance URL leads somewhere tenants may not
// reach: our own network or the cloud metadata service.
type BlockedAddressError struct {
	Host string
	Addr netip.Addr
	Why  string
}

func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("%s resolves to %s, a %s address", e.Host, e.Addr, e.Why)
}

// metadata is the cloud metadata range (and all of IPv4 link-local).
var metadata = netip.MustParsePrefix("169.254.0.0/16")

// checkAddr refuses link-local (always, including 169.254.169.254 metadata),
// and loopback, private, unspecified and CGNAT addresses unless allowPrivate.
func checkAddr(host string, a netip.Addr, allowPrivate bool) error {
	a = a.Unmap()
	switch {
	case metadata.Contains(a):
		return &BlockedAddressError{host, a, "link-local/metadata"}
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return &BlockedAddressError{host, a, "link-local"}
	case a.IsMulticast():
		return &BlockedAddressError{host, a, "multicast"}
	case allowPrivate:
		return nil
	case a.IsLoopback():
		return &BlockedAddressError{host, a, "loopback"}
	case a.IsPrivate(), a.IsUnspecified(), netip.MustParsePrefix("100.64.0.0/10").Contains(a):
		return &BlockedAddressError{host, a, "private"}
	}
	return nil
}

// Resolver looks host names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard checks instance base URLs before they are stored and every address
// dialled afterwards (so a name that later resolves elsewhere — DNS
// rebinding — is still refused).
type Guard struct {
	// AllowPrivate permits loopback and private addresses
	// (ALLOW_PRIVATE_WUZAPI=true, the local default). Link-local and the
	// metadata range are refused regardless.
	AllowPrivate bool
	// Resolver resolves names; net.DefaultResolver when nil.
	Resolver Resolver
}

// URLError says what is wrong with a base URL; its Code is a validation
// detail code ("invalid_url", "blocked_address", "unresolvable").
type URLError struct {
	Code, Message string
}

func (e *URLError) Error() string { return e.Message }

// CheckBaseURL validates raw as an http(s) URL without credentials, query or
// fragment whose host resolves only to allowed addresses, and returns it
// without a trailing slash.
func (g Guard) CheckBaseURL(ctx context.Context, raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "", &URLError{"invalid_url", "baseUrl must be an absolute http or https URL"}
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", &URLError{"invalid_url", "baseUrl must not carry credentials, a query or a fragment"}
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		r := g.Resolver
		if r == nil {
			r = net.DefaultResolver
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		addrs, err = r.LookupNetIP(lctx, "ip", host)
		if err != nil || len(addrs) == 0 {
			return "", &URLError{"unresolvable", fmt.Sprintf("baseUrl host %s does not resolve", host)}
		}
	}
	for _, a := range addrs {
		if err := checkAddr(host, a, g.AllowPrivate); err != nil {
			return "", &URLError{"blocked_address", "baseUrl is not reachable from here: " + err.Error()}
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u.String(), nil
}

// HTTPClient returns a client whose every connection is checked against
// the guard at dial time, with the given overall timeout per request.
func (g Guard) HTTPClient(timeout time.Duration) *http.Client {
	d := &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, err)
			}
			return checkAddr(address, ap.Addr(), g.AllowPrivate)
		},
	}
	tr := &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second,
		// WuzAPI instances are tenants' servers; never follow an
		// environment proxy to them.
		Proxy: nil,
	}
	return &http.Client{
		Timeout:   timeout,
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("wuzapi: redirects are not followed")
		},
	}
}
