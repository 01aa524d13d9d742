package local

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func TestNewHTTPRequestEvent(t *testing.T) {
	binary := []byte{0x89, 'P', 'N', 'G', 0, 1, 2, 0xff}
	tests := []struct {
		name        string
		method      string
		target      string
		contentType string
		body        []byte
		wantBody    string
		wantBase64  bool
	}{
		{"json body stays text", http.MethodPost, "/v1/tenants", "application/json; charset=utf-8", []byte(`{"name":"Acme"}`), `{"name":"Acme"}`, false},
		{"form body stays text", http.MethodPost, "/hook", "application/x-www-form-urlencoded", []byte("jsonData=%7B%7D"), "jsonData=%7B%7D", false},
		{"binary body is base64", http.MethodPut, "/upload", "image/png", binary, base64.StdEncoding.EncodeToString(binary), true},
		{"no content type is base64", http.MethodPost, "/raw", "", []byte("abc"), base64.StdEncoding.EncodeToString([]byte("abc")), true},
		{"no body", http.MethodGet, "/v1/me?limit=5&tag=a&tag=b", "", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://api.example.com:8080"+tt.target, bytes.NewReader(tt.body))
			r.RemoteAddr = "192.0.2.7:51234"
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			r.Header.Add("X-Multi", "one")
			r.Header.Add("X-Multi", "two")
			r.Header.Set("X-Forwarded-For", "203.0.113.9")
			r.Header.Add("Cookie", "a=1; b=2")
			r.Header.Add("Cookie", "c=3")
			now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			ev := NewHTTPRequestEvent(r, tt.body, "req-1", now)

			checks := []struct {
				what      string
				got, want any
			}{
				{"version", ev.Version, "2.0"},
				{"routeKey", ev.RouteKey, "$default"},
				{"rawPath", ev.RawPath, strings.Split(tt.target, "?")[0]},
				{"rawQueryString", ev.RawQueryString, r.URL.RawQuery},
				{"body", ev.Body, tt.wantBody},
				{"isBase64Encoded", ev.IsBase64Encoded, tt.wantBase64},
				{"headers[x-multi]", ev.Headers["x-multi"], "one,two"},
				{"headers[host]", ev.Headers["host"], "api.example.com:8080"},
				{"headers[x-forwarded-for]", ev.Headers["x-forwarded-for"], "203.0.113.9, 192.0.2.7"},
				{"headers[cookie]", ev.Headers["cookie"], ""},
				{"cookies", strings.Join(ev.Cookies, "|"), "a=1|b=2|c=3"},
				{"http.method", ev.RequestContext.HTTP.Method, tt.method},
				{"http.path", ev.RequestContext.HTTP.Path, strings.Split(tt.target, "?")[0]},
				{"http.sourceIp (TCP peer, not X-Forwarded-For)", ev.RequestContext.HTTP.SourceIP, "192.0.2.7"},
				{"stage", ev.RequestContext.Stage, "$default"},
				{"requestId", ev.RequestContext.RequestID, "req-1"},
				{"domainName", ev.RequestContext.DomainName, "api.example.com"},
				{"domainPrefix", ev.RequestContext.DomainPrefix, "api"},
				{"timeEpoch", ev.RequestContext.TimeEpoch, now.UnixMilli()},
				{"time", ev.RequestContext.Time, "01/Dec/2026:10:00:00 +0000"},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %#v, want %#v", c.what, c.got, c.want)
				}
			}
			if tt.name == "no body" && (ev.QueryStringParameters["tag"] != "a,b" || ev.QueryStringParameters["limit"] != "5") {
				t.Errorf("queryStringParameters = %v, want limit=5 tag=a,b", ev.QueryStringParameters)
			}
			for k := range ev.Headers {
				if k != strings.ToLower(k) {
					t.Errorf("header %q is not lower case", k)
				}
			}
		})
	}
}

func TestWriteHTTPResponse(t *testing.T) {
	binary := []byte{0, 1, 2, 0xfe, 0xff}
	tests := []struct {
		name       string
		resp       any
		wantStatus int
		wantBody   []byte
		wantHeader map[string][]string
	}{
		{
			name: "headers, multi-value headers and cookies",
			resp: events.APIGatewayV2HTTPResponse{
				StatusCode:        201,
				Headers:           map[string]string{"Content-Type": "application/json", "X-One": "1"},
				MultiValueHeaders: map[string][]string{"X-Many": {"a", "b"}},
				Cookies:           []string{"s=1; HttpOnly", "t=2"},
				Body:              `{"ok":true}`,
			},
			wantStatus: 201,
			wantBody:   []byte(`{"ok":true}`),
			wantHeader: map[string][]string{"Content-Type": {"application/json"}, "X-One": {"1"}, "X-Many": {"a", "b"}, "Set-Cookie": {"s=1; HttpOnly", "t=2"}},
		},
		{
			name:       "base64 body is decoded",
			resp:       events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/octet-stream", "Content-Encoding": "br"}, Body: base64.StdEncoding.EncodeToString(binary), IsBase64Encoded: true},
			wantStatus: 200,
			wantBody:   binary,
			wantHeader: map[string][]string{"Content-Encoding": {"br"}},
		},
		{
			name:       "payload without statusCode is a JSON 200",
			resp:       map[string]any{"hello": "world"},
			wantStatus: 200,
			wantBody:   []byte(`{"hello":"world"}`),
			wantHeader: map[string][]string{"Content-Type": {"application/json"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, _ := json.Marshal(tt.resp)
			rec := httptest.NewRecorder()
			if err := WriteHTTPResponse(rec, payload); err != nil {
				t.Fatalf("WriteHTTPResponse: %v", err)
			}
			if rec.Code != tt.wantStatus || !bytes.Equal(rec.Body.Bytes(), tt.wantBody) {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body.Bytes(), tt.wantStatus, tt.wantBody)
			}
			for k, want := range tt.wantHeader {
				if got := rec.Header().Values(k); !slices.Equal(got, want) {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}

	t.Run("not JSON", func(t *testing.T) {
		if err := WriteHTTPResponse(httptest.NewRecorder(), []byte("oops")); err == nil {
			t.Fatal("WriteHTTPResponse(oops) = nil, want an error")
		}
	})
}

// TestGatewayRoundTrip sends real HTTP requests through the gateway to an
// in-process handler that echoes what it got, through the same conversions
// a Lambda function sees.
func TestGatewayRoundTrip(t *testing.T) {
	echo := func(_ context.Context, payload []byte) ([]byte, error) {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		body, _ := json.Marshal(ev)
		return json.Marshal(events.APIGatewayV2HTTPResponse{
			StatusCode:      200,
			Headers:         map[string]string{"Content-Type": "application/json"},
			Cookies:         []string{"session=abc; Path=/"},
			Body:            base64.StdEncoding.EncodeToString(body),
			IsBase64Encoded: true,
		})
	}
	srv := httptest.NewServer(&gateway{function: "ApiFunction", invoke: echo, log: testLogger(t), now: time.Now})
	defer srv.Close()

	upload := []byte{0, 0xff, 0x10, 'x'}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+"/files/a%2Fb?x=1&y=2", bytes.NewReader(upload))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.AddCookie(&http.Cookie{Name: "k", Value: "v"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("response %q: %v", raw, err)
	}
	got, _ := base64.StdEncoding.DecodeString(ev.Body)
	if !ev.IsBase64Encoded || !bytes.Equal(got, upload) {
		t.Errorf("function saw body %q (base64 %v), want %q", got, ev.IsBase64Encoded, upload)
	}
	if ev.RawPath != "/files/a%2Fb" || ev.RawQueryString != "x=1&y=2" || ev.RequestContext.HTTP.Method != http.MethodPut {
		t.Errorf("function saw %s %s ? %s", ev.RequestContext.HTTP.Method, ev.RawPath, ev.RawQueryString)
	}
	if !slices.Equal(ev.Cookies, []string{"k=v"}) {
		t.Errorf("function saw cookies %q, want k=v", ev.Cookies)
	}
	if sc := resp.Header.Values("Set-Cookie"); !slices.Equal(sc, []string{"session=abc; Path=/"}) {
		t.Errorf("Set-Cookie = %q", sc)
	}
}

func TestGatewayErrors(t *testing.T) {
	tests := []struct {
		name       string
		invoke     invoker
		body       io.Reader
		wantStatus int
		wantCode   string
	}{
		{"function error is 502", func(context.Context, []byte) ([]byte, error) {
			return nil, &FunctionError{Function: "ApiFunction", Type: "errorString", Message: "boom"}
		}, nil, http.StatusBadGateway, "UNAVAILABLE"},
		{"timeout is 504", func(context.Context, []byte) ([]byte, error) { return nil, ErrFunctionTimeout }, nil, http.StatusGatewayTimeout, "UNAVAILABLE"},
		{"malformed response is 502", func(context.Context, []byte) ([]byte, error) { return []byte("not json"), nil }, nil, http.StatusBadGateway, "UNAVAILABLE"},
		{"over 10 MB is 413", func(context.Context, []byte) ([]byte, error) {
			t.Error("function invoked for an oversized body")
			return nil, nil
		}, io.LimitReader(zeros{}, MaxPayloadBytes+1), http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&gateway{function: "ApiFunction", invoke: tt.invoke, log: testLogger(t), now: time.Now})
			defer srv.Close()
			body := tt.body
			if body == nil {
				body = http.NoBody
			}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/x", body)
			req.ContentLength = -1 // chunked: the limit must hold without Content-Length too
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var env struct {
				Success bool   `json:"success"`
				Code    string `json:"code"`
				Error   string `json:"error"`
			}
			raw, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(raw, &env); err != nil {
				t.Fatalf("body %q is not JSON: %v", raw, err)
			}
			if resp.StatusCode != tt.wantStatus || env.Success || env.Code != tt.wantCode || env.Error == "" {
				t.Errorf("got %d %s, want %d code %s", resp.StatusCode, raw, tt.wantStatus, tt.wantCode)
			}
			if strings.Contains(string(raw), "boom") {
				t.Errorf("body %s leaks the function's error text", raw)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
