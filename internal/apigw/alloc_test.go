package apigw

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// statusEvent is a status request's event as the local gateway sends it.
func statusEvent(t testing.TB) []byte {
	t.Helper()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: "/v1/campaigns/0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c11/status",
		Headers: map[string]string{"authorization": "Bearer wm_0123456789abcdef0123456789abcdef", "accept": "*/*",
			"host": "127.0.0.1:8080", "user-agent": "Go-http-client/1.1", "accept-encoding": "gzip",
			"x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "http"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "127.0.0.1", RequestID: "f5c2ae9e-c4bf-426b-be1d-07b605622aa8", Stage: "$default", TimeEpoch: 1796205600000,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/v1/campaigns/0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c11/status",
				Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "Go-http-client/1.1"},
		},
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// TestStatusEventAllocations bounds what decoding a status request's event
// and building its http.Request allocate: the event's strings are slices
// of one copy of the payload, the request context and the request ID add
// no allocations of their own, the URL is not parsed twice.
func TestStatusEventAllocations(t *testing.T) {
	payload := statusEvent(t)
	ctx := context.Background()
	var req *http.Request
	allocs := testing.AllocsPerRun(200, func() {
		var ev events.APIGatewayV2HTTPRequest
		if err := DecodeRequest(payload, &ev); err != nil {
			t.Fatal(err)
		}
		var err error
		if req, err = Request(ctx, ev); err != nil {
			t.Fatal(err)
		}
	})
	if req.Header.Get("X-Request-Id") != "f5c2ae9e-c4bf-426b-be1d-07b605622aa8" || req.URL.Path != "/v1/campaigns/0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c11/status" {
		t.Fatalf("request = %s %v", req.URL, req.Header)
	}
	t.Logf("%.0f allocations", allocs)
	if allocs > 12 {
		t.Errorf("decoding the event and building its request: %.0f allocations, want at most 12 (40 with a copy per string and the URL parsed twice)", allocs)
	}
}

// BenchmarkStatusEventRequest decodes a status request's event and builds
// its http.Request.
//
//	go test -run '^$' -bench StatusEventRequest -benchmem ./internal/apigw/
func BenchmarkStatusEventRequest(b *testing.B) {
	payload := statusEvent(b)
	ctx := context.Background()
	cpu0 := processCPU()
	for b.Loop() {
		var ev events.APIGatewayV2HTTPRequest
		if err := DecodeRequest(payload, &ev); err != nil {
			b.Fatal(err)
		}
		if _, err := Request(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// processCPU is the user and system CPU this process has used: a figure
// that moves less than the wall time with the machine's load.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// FuzzRequestURL: the request's URL has the path, escaped path and string
// a URL with the event's rawPath as its RawPath (and its unescaped form as
// its Path) has, whether or not the path is plain enough to need no
// RawPath.
func FuzzRequestURL(f *testing.F) {
	for _, p := range []string{"/v1/campaigns/0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c11/status", "/v1/items/a%20b", "/a b", "/a!b",
		"/a%2Fb", "/%zz", "//x", "/a?b", "/$&+,:;=@-._~", "", "*", "/é", "/a%41", "/a/../b", "/a//b/"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, path string) {
		ev := events.APIGatewayV2HTTPRequest{RawPath: path}
		ev.RequestContext.HTTP.Method = "GET"
		req, err := Request(context.Background(), ev)
		if err != nil {
			t.Skip()
		}
		want := &url.URL{Path: path}
		if p, err := url.PathUnescape(path); err == nil {
			want.Path, want.RawPath = p, path
		}
		if req.URL.Path != want.Path || req.URL.EscapedPath() != want.EscapedPath() || req.URL.String() != want.String() {
			t.Errorf("rawPath %q: URL path %q, escaped %q, %q; want %q, %q, %q", path,
				req.URL.Path, req.URL.EscapedPath(), req.URL.String(), want.Path, want.EscapedPath(), want.String())
		}
	})
}
