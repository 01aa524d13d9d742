package apigw

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestHandlerRoundTrip(t *testing.T) {
	raw, err := os.ReadFile("testdata/apigw-v2-post.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	var seen *http.Request
	var seenBody []byte
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		seenBody, _ = io.ReadAll(r.Body)
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
		w.Header().Add("X-Multi", "x")
		w.Header().Add("X-Multi", "y")
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(201)
		_, _ = w.Write([]byte{0, 1, 2, 255})
	})
	resp, err := Handler(h)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}

	if seen.Method != "POST" || seen.URL.Path != "/v1/items/a b" || seen.URL.Query().Get("q") != "1" || seen.URL.Query()["tag"][1] != "y" {
		t.Errorf("request line: %s %s ?%s", seen.Method, seen.URL.Path, seen.URL.RawQuery)
	}
	if seen.RemoteAddr != "203.0.113.9:0" {
		t.Errorf("RemoteAddr = %q, want the gateway's sourceIp, not X-Forwarded-For", seen.RemoteAddr)
	}
	if c, err := seen.Cookie("session"); err != nil || c.Value != "abc" {
		t.Errorf("cookie session = %v, %v", c, err)
	}
	if seen.Header.Get("Authorization") != "Bearer k" || seen.Header.Get("X-Request-Id") != "req-1" {
		t.Errorf("headers = %v", seen.Header)
	}
	if string(seenBody) != "\x00binary\xff" {
		t.Errorf("body = %q", seenBody)
	}
	if rc, ok := RequestContext(seen.Context()); !ok || rc.RequestID != "req-1" {
		t.Errorf("request context = %+v, %v", rc, ok)
	}

	if resp.StatusCode != 201 || len(resp.Cookies) != 2 || resp.Headers["X-Multi"] != "x,y" {
		t.Errorf("response = %+v", resp)
	}
	if !resp.IsBase64Encoded {
		t.Fatal("binary response not base64-encoded")
	}
	if b, _ := base64.StdEncoding.DecodeString(resp.Body); string(b) != "\x00\x01\x02\xff" {
		t.Errorf("response body = %q", b)
	}
}

func TestResponseText(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		base64 bool
	}{
		{"json", http.Header{"Content-Type": {"application/json; charset=utf-8"}}, false},
		{"text", http.Header{"Content-Type": {"text/csv"}}, false},
		{"gzip json", http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}, true},
		{"png", http.Header{"Content-Type": {"image/png"}}, true},
		{"none", http.Header{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Response(200, tt.header, []byte("x")).IsBase64Encoded; got != tt.base64 {
				t.Fatalf("IsBase64Encoded = %v, want %v", got, tt.base64)
			}
		})
	}
}

// TestHandlerAnswersAsTheRecorder: Handler's own response writer gives
// the API Gateway response httptest.ResponseRecorder gave, handler by
// handler: implicit 200, sniffed Content-Type, the first status only,
// headers set after the status, bodies of bodiless statuses, Flush.
func TestHandlerAnswersAsTheRecorder(t *testing.T) {
	handlers := map[string]http.HandlerFunc{
		"nothing": func(http.ResponseWriter, *http.Request) {},
		"status only": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", "/x")
			w.WriteHeader(http.StatusPermanentRedirect)
		},
		"sniffed html": func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html><body>hi")) },
		"sniffed binary": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "\x00\x01")
			_, _ = w.Write([]byte{2})
		},
		"empty write": func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(nil) },
		"json, status twice, header late": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.WriteHeader(http.StatusOK)
			w.Header().Set("X-Late", "1")
			_, _ = w.Write([]byte(`{"a":1}`))
		},
		"body on 204": func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNoContent)
			if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrBodyNotAllowed) {
				t.Errorf("Write on 204: %v, want ErrBodyNotAllowed", err)
			}
		},
		"flush": func(w http.ResponseWriter, _ *http.Request) {
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte("text"))
		},
		"no type, transfer-encoding": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Transfer-Encoding", "chunked")
			_, _ = w.Write([]byte("abc"))
		},
	}
	ev := events.APIGatewayV2HTTPRequest{RawPath: "/x"}
	ev.RequestContext.HTTP.Method = "GET"
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			got, err := Handler(h)(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			req, err := Request(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			want := Response(rec.Result().StatusCode, rec.Header(), rec.Body.Bytes())
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Fatalf("response\n got %s\nwant %s", g, w)
			}
		})
	}
}

// BenchmarkHandler is what Handler adds around a handler for a status
// request: the http.Request built from the event, the response writer, the
// API Gateway response built from what was written.
//
//	go test -run '^$' -bench Handler -benchmem ./internal/apigw/
func BenchmarkHandler(b *testing.B) {
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
	body := []byte(`{"success":true,"data":{"jobId":"0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c11","state":"scheduled","progress":0}}` + "\n")
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			b.Fatal("no Authorization")
		}
		hd := w.Header()
		hd.Add("Vary", "Accept-Encoding")
		hd.Set("RateLimit-Limit", "2000")
		hd.Set("RateLimit-Remaining", "1999")
		hd.Set("RateLimit-Reset", "1")
		hd.Set("Content-Type", "application/json; charset=utf-8")
		hd.Set("Cache-Control", "no-store")
		hd.Add("Vary", "Authorization")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}))
	ctx := context.Background()
	for b.Loop() {
		if resp, err := h(ctx, ev); err != nil || resp.StatusCode != 200 {
			b.Fatal(resp.StatusCode, err)
		}
	}
}
