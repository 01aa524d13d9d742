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

	"code.dny.dev/ssrf"
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

var (
	// metadata is the cloud metadata range (and all of IPv4 link-local).
	metadata = netip.MustParsePrefix("169.254.0.0/16")
	// awsIPv6Services holds EC2's IPv6 metadata (fd00:ec2::254), DNS and
	// time addresses: inside the unique-local range, so private addresses
	// being allowed must not let them through.
	awsIPv6Services = netip.MustParsePrefix("fd00:ec2::/32")
	sharedAddress   = netip.MustParsePrefix("100.64.0.0/10")
)

// checkAddr refuses, always: link-local and cloud metadata addresses,
// multicast, and every special-purpose range of the IANA IPv4 and IPv6
// special-purpose registries that is not globally reachable (the ranges
// code.dny.dev/ssrf generates from those registries; for IPv6, anything
// outside global unicast 2000::/3, which also refuses NAT64 64:ff9b::/96).
// Loopback, private (RFC 1918, unique-local) and shared (CGNAT) addresses
// are refused unless allowPrivate.
func checkAddr(host string, a netip.Addr, allowPrivate bool) error {
	a = a.Unmap()
	switch {
	case metadata.Contains(a), awsIPv6Services.Contains(a):
		return &BlockedAddressError{host, a, "link-local/metadata"}
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return &BlockedAddressError{host, a, "link-local"}
	case a.IsMulticast():
		return &BlockedAddressError{host, a, "multicast"}
	case a.IsLoopback():
		if allowPrivate {
			return nil
		}
		return &BlockedAddressError{host, a, "loopback"}
	case a.IsPrivate(), sharedAddress.Contains(a):
		if allowPrivate {
			return nil
		}
		return &BlockedAddressError{host, a, "private"}
	case specialPurpose(a):
		return &BlockedAddressError{host, a, "special-purpose"}
	}
	return nil
}

// specialPurpose reports whether a lies in a special-purpose range that is
// not globally reachable.
func specialPurpose(a netip.Addr) bool {
	prefixes := ssrf.IPv4DeniedPrefixes
	if a.Is6() {
		if !ssrf.IPv6GlobalUnicast.Contains(a) {
			return true
		}
		prefixes = ssrf.IPv6DeniedPrefixes
	}
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolver looks host names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard checks instance base URLs before they are stored and every address
// dialled afterwards (so a name that later resolves elsewhere — DNS
// rebinding — is still refused).
type Guard struct {
	// AllowPrivate permits loopback, private and shared (CGNAT) addresses
	// (ALLOW_PRIVATE_WUZAPI=true, the local default). Link-local, cloud
	// metadata and the other special-purpose ranges are refused regardless.
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
	u, err := g.checkURL(ctx, raw, "baseUrl", false)
	if err != nil {
		return "", err
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u.String(), nil
}

// CheckWebhookURL validates raw as a tenant's webhook endpoint: an http(s)
// URL without credentials or fragment (a query is kept) whose host resolves
// only to allowed addresses; field names it in errors.
func (g Guard) CheckWebhookURL(ctx context.Context, raw, field string) (string, error) {
	u, err := g.checkURL(ctx, raw, field, true)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

func (g Guard) checkURL(ctx context.Context, raw, field string, allowQuery bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return nil, &URLError{"invalid_url", field + " must be an absolute http or https URL"}
	}
	if u.User != nil || (u.RawQuery != "" && !allowQuery) || u.Fragment != "" {
		what := "credentials, a query or a fragment"
		if allowQuery {
			what = "credentials or a fragment"
		}
		return nil, &URLError{"invalid_url", field + " must not carry " + what}
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
			return nil, &URLError{"unresolvable", fmt.Sprintf("%s host %s does not resolve", field, host)}
		}
	}
	for _, a := range addrs {
		if err := checkAddr(host, a, g.AllowPrivate); err != nil {
			return nil, &URLError{"blocked_address", field + " is not reachable from here: " + err.Error()}
		}
	}
	return u, nil
}

// HTTPClient returns a client whose every connection is checked against
// the guard at dial time, with the given overall timeout per request.
func (g Guard) HTTPClient(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		DialContext:         g.dialer().DialContext,
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

// dialer connects only to addresses the guard allows, checked on the
// address actually dialled.
func (g Guard) dialer() *net.Dialer {
	return &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, err)
			}
			return checkAddr(address, ap.Addr(), g.AllowPrivate)
		},
	}
}
