package telemetry

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// unmarshalProbe is what probeAPIEvent must agree with.
func unmarshalProbe(payload []byte) (apiProbe, error) {
	var p apiProbe
	err := json.Unmarshal(payload, &p)
	return p, err
}

func sameProbe(a, b apiProbe) bool {
	return a.RawPath == b.RawPath && maps.Equal(a.Headers, b.Headers) && (a.Headers == nil) == (b.Headers == nil)
}

func apiEvent(t testing.TB, body string) []byte {
	t.Helper()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: "/v1/campaigns", RawQueryString: "a=1",
		Headers: map[string]string{"authorization": "Bearer wm_x", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		Body:    body,
	}
	ev.RequestContext.HTTP.Method = "POST"
	ev.RequestContext.HTTP.Path = "/elsewhere"
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProbeAPIEventAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload string
	}{
		{"a real event", string(apiEvent(t, `{"name":"x"}`))},
		{"a body that names the keys", string(apiEvent(t, `{"rawPath":"/evil","headers":{"traceparent":"00-bad"}} \" \\" \\\"`))},
		{"a body ending in backslashes", string(apiEvent(t, `C:\\dir\\`))},
		{"keys in another order, spaced", "{ \"headers\" : {\"a\":\"1\"} ,\n\t\"body\": \"}{][\" , \"rawPath\" : \"/x\" }"},
		{"nested keys are not top-level", `{"requestContext":{"rawPath":"/no","headers":{"x":"no"}},"rawPath":"/yes"}`},
		{"the last of a repeated key wins until both are found", `{"rawPath":"/a","rawPath":"/b","headers":{}}`},
		{"keys match without case", `{"RAWPATH":"/upper","Headers":{"k":"v"}}`},
		{"escapes in the wanted values", `{"rawPath":"/a\u00e9\"b","headers":{"x\"y":"z\\"}}`},
		{"numbers, literals, arrays", `{"n":-1.5e3,"t":true,"f":false,"z":null,"a":[1,[2,{"rawPath":"/no"}],"]"],"rawPath":"/ok"}`},
		{"an empty object", `{}`},
		{"null headers", `{"headers":null,"rawPath":"/n"}`},
		{"an escaped key", `{"rawPath":"/a","raw\u0050ath":"/b"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := unmarshalProbe([]byte(tt.payload))
			if err != nil {
				t.Fatalf("the case is not valid JSON: %v", err)
			}
			got, ok := probeAPIEvent([]byte(tt.payload))
			if !ok || !sameProbe(got, want) {
				t.Fatalf("probe = %+v, %v; encoding/json = %+v", got, ok, want)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"rawPath":`, `{"rawPath":"/x"`, `{"rawPath":1}`, `{"headers":{"a":1}}`, `{"a" "b"}`, `{"a":"b"} x`, `{"rawPath":"/x"} x`} {
		if _, err := unmarshalProbe([]byte(bad)); err == nil {
			t.Fatalf("%q is valid JSON for the probe", bad)
		}
		if p, ok := probeAPIEvent([]byte(bad)); ok {
			t.Errorf("probe(%q) = %+v, ok; want not ok, as encoding/json", bad, p)
		}
	}
}

// FuzzProbeAPIEvent: whatever encoding/json reads, the probe reads alike,
// for events that, like API Gateway's, name each key once.
func FuzzProbeAPIEvent(f *testing.F) {
	f.Add(string(apiEvent(f, `{"a":"b\"}"}`)))
	f.Add(`{"rawPath":"/a","x":[{"headers":1}],"headers":{"k":"v"}}`)
	f.Add(`{"a":"\\","rawPath":"\\\""}`)
	f.Add(`{"raw\u0050ath":"/b","headers":{}}`)
	f.Fuzz(func(t *testing.T, payload string) {
		want, err := unmarshalProbe([]byte(payload))
		if err != nil || repeatsATopLevelKey(payload) {
			return // invalid events fail the runtime's own decode
		}
		got, ok := probeAPIEvent([]byte(payload))
		if !ok || !sameProbe(got, want) {
			t.Fatalf("probe(%q) = %+v, %v; encoding/json = %+v", payload, got, ok, want)
		}
	})
}

// BenchmarkProbeAPIEvent reads the span's fields from an event carrying a
// 100,000-recipient campaign (7 MB), against decoding it with encoding/json.
//
//	go test -run '^$' -bench ProbeAPIEvent ./internal/telemetry/
func BenchmarkProbeAPIEvent(b *testing.B) {
	payload := apiEvent(b, strings.Repeat(`{"phone":"5511999999999","vars":{"nome":"Ana"}},`, 100_000))
	b.Run("probe", func(b *testing.B) {
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			if p, ok := probeAPIEvent(payload); !ok || p.RawPath != "/v1/campaigns" {
				b.Fatal(p, ok)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			if p, err := unmarshalProbe(payload); err != nil || p.RawPath != "/v1/campaigns" {
				b.Fatal(p, err)
			}
		}
	})
}

// repeatsATopLevelKey reports whether payload names a top-level key twice,
// as encoding/json reads keys (unescaped, without case).
func repeatsATopLevelKey(payload string) bool {
	dec := json.NewDecoder(strings.NewReader(payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		key := strings.ToLower(tok.(string))
		if seen[key] {
			return true
		}
		seen[key] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}
