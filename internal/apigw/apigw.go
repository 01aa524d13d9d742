// Package apigw adapts a plain http.Handler to the API Gateway HTTP API
// (payload format 2.0) Lambda event, both ways, so the same handler serves
// API Gateway, the local gateway and tests.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

type requestContextKey struct{}

// RequestContext returns the API Gateway request context of r's invocation.
func RequestContext(ctx context.Context) (events.APIGatewayV2HTTPRequestContext, bool) {
	rc, ok := ctx.Value(requestContextKey{}).(*events.APIGatewayV2HTTPRequestContext)
	if !ok {
		return events.APIGatewayV2HTTPRequestContext{}, false
	}
	return *rc, true
}

// eventContext carries an event's request context: one allocation, where
// context.WithValue boxes the value and wraps it in two.
type eventContext struct {
	context.Context
	rc events.APIGatewayV2HTTPRequestContext
}

func (c *eventContext) Value(key any) any {
	if key == (requestContextKey{}) {
		return &c.rc
	}
	return c.Context.Value(key)
}

// Handler returns a Lambda handler serving API Gateway v2 events with h.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		req, err := Request(ctx, ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		rec := recorder{header: make(http.Header, 8)}
		h.ServeHTTP(&rec, req)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		return Response(rec.status, rec.header, rec.body), nil
	}
}

// recorder is the response writer Handler serves with: what
// httptest.ResponseRecorder records (the status, the live header map, every
// byte written, a Content-Type sniffed from the body's start when the
// handler set none), without the copies of the header and the
// http.Response that the recorder's Result builds.
type recorder struct {
	header http.Header
	status int // 0 until the header is written
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }

// WriteHeader records the first status; later ones are ignored.
func (r *recorder) WriteHeader(code int) {
	if r.status != 0 {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	r.status = code
}

// writeHeader writes the implicit 200 before the first byte of a body,
// with a Content-Type sniffed from it when the handler set none.
func (r *recorder) writeHeader(b []byte) {
	if r.status != 0 {
		return
	}
	if _, ok := r.header["Content-Type"]; !ok && r.header.Get("Transfer-Encoding") == "" {
		r.header.Set("Content-Type", http.DetectContentType(b[:min(len(b), 512)]))
	}
	r.status = http.StatusOK
}

// Write records b. As an HTTP server does, it reports
// http.ErrBodyNotAllowed for a status that has no body (the bytes are
// recorded all the same, as the recorder does).
func (r *recorder) Write(b []byte) (int, error) {
	r.writeHeader(b)
	r.body = append(r.body, b...)
	if !bodyAllowed(r.status) {
		return 0, http.ErrBodyNotAllowed
	}
	return len(b), nil
}

// Flush writes the header (nothing is sent before the handler returns).
func (r *recorder) Flush() {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
}

// bodyAllowed reports whether a status permits a body (RFC 9110).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// Request builds the http.Request an API Gateway v2 event describes. The
// client address is the gateway's sourceIp, never a forwarded header.
func Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("decode base64 request body: %w", err)
		}
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	u := &url.URL{Path: path, RawQuery: ev.RawQueryString}
	if !plainPath(path) {
		if p, err := url.PathUnescape(path); err == nil {
			u.Path, u.RawPath = p, path
		}
	}
	method := methodName(ev.RequestContext.HTTP.Method)
	ctx = &eventContext{Context: ctx, rc: ev.RequestContext}
	// An empty body is http.NoBody, as NewRequestWithContext makes it. The
	// URL is u, built above: "/" spares parsing it again.
	req, err := http.NewRequestWithContext(ctx, method, "/", http.NoBody)
	if err != nil {
		return nil, fmt.Errorf("build request %s %s: %w", method, path, err)
	}
	req.URL = u
	if len(body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	req.ContentLength = int64(len(body))
	// Room for X-Request-Id: a hint of up to 8 makes one small group, a
	// larger one a table.
	req.Header = make(http.Header, len(ev.Headers)+1)
	// Every value from one backing array, with room for X-Request-Id.
	values := make([]string, len(ev.Headers)+1)
	i := 0
	for k, v := range ev.Headers {
		// API Gateway joins repeated headers with commas; keep them joined.
		values[i] = v
		req.Header[canonicalName(k)] = values[i : i+1 : i+1]
		i++
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Host = ev.RequestContext.DomainName
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	if req.RemoteAddr != "" && !strings.Contains(req.RemoteAddr, ":") {
		req.RemoteAddr += ":0"
	}
	if ev.RequestContext.HTTP.Protocol != "" {
		req.Proto = ev.RequestContext.HTTP.Protocol
	}
	if ev.RequestContext.RequestID != "" && req.Header.Get("X-Request-Id") == "" {
		values[i] = ev.RequestContext.RequestID
		req.Header["X-Request-Id"] = values[i : i+1 : i+1]
	}
	return req, nil
}

// plainPath reports whether path is its own escaped and unescaped form:
// only characters url.URL.EscapedPath leaves as they are (letters,
// digits, "-._~$&+,/:;=@"), no percent sign. Its URL needs no RawPath, so
// EscapedPath (the mux calls it on every match) returns it after one
// scan, without checking and unescaping a RawPath.
func plainPath(path string) bool {
	for i := range len(path) {
		c := path[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		switch c {
		case '-', '_', '.', '~', '$', '&', '+', ',', '/', ':', ';', '=', '@':
			continue
		}
		return false
	}
	return true
}

// methodName is the request's method, GET when the event has none: the
// standard methods as constants, so a method kept past the request (a
// metric's label) holds no part of the event's payload.
func methodName(m string) string {
	if m == "" {
		return http.MethodGet
	}
	for _, std := range standardMethods {
		if m == std {
			return std
		}
	}
	return strings.Clone(m)
}

var standardMethods = [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// canonicalNames are the canonical forms of the header names clients send
// most, by the lower-case name API Gateway gives them under.
var canonicalNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
		"Connection", "Content-Length", "Content-Type", "Cookie", "Host", "Idempotency-Key", "If-None-Match",
		"Origin", "Referer", "Traceparent", "Tracestate", "User-Agent", "X-Amzn-Trace-Id", "X-Forwarded-For",
		"X-Forwarded-Port", "X-Forwarded-Proto", "X-Hmac-Signature", "X-No-Compression", "X-Request-Id"} {
		m[strings.ToLower(n)] = n
	}
	return m
}()

// canonicalName is http.CanonicalHeaderKey(k), without allocating for the
// names clients send most.
func canonicalName(k string) string {
	if n, ok := canonicalNames[k]; ok {
		return n
	}
	return http.CanonicalHeaderKey(k)
}

// Response builds the API Gateway v2 response for a status, headers and
// body. Bodies that are not text (or are compressed) travel base64-encoded.
func Response(status int, header http.Header, body []byte) events.APIGatewayV2HTTPResponse {
	out := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: make(map[string]string, len(header))}
	for k, vs := range header {
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			out.Cookies = append(out.Cookies, vs...)
			continue
		}
		out.Headers[k] = strings.Join(vs, ",")
	}
	if isText(header) {
		out.Body = string(body)
	} else {
		out.Body = base64.StdEncoding.EncodeToString(body)
		out.IsBase64Encoded = true
	}
	return out
}

// isText reports whether a body with these headers is safe as a JSON string.
func isText(h http.Header) bool {
	if enc := h.Get("Content-Encoding"); enc != "" && enc != "identity" {
		return false
	}
	ct := h.Get("Content-Type")
	switch ct {
	case "":
		return true // empty or unknown bodies: API Gateway's own default
	case "application/json; charset=utf-8", "application/json":
		return true // the API's own answers, without parsing
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/xml" || mt == "application/javascript" || mt == "application/x-www-form-urlencoded" ||
		mt == "image/svg+xml" || mt == "application/manifest+json"
}
