package apigw

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
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
