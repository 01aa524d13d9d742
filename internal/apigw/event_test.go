package apigw

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// stdRequest is what encoding/json decodes from payload, without the two
// members DecodeRequest skips.
func stdRequest(payload []byte) (events.APIGatewayV2HTTPRequest, error) {
	var ev events.APIGatewayV2HTTPRequest
	err := json.Unmarshal(payload, &ev)
	ev.RequestContext.Authorizer = nil
	ev.RequestContext.Authentication = events.APIGatewayV2HTTPRequestContextAuthentication{}
	return ev, err
}

// checkDecode: whatever encoding/json accepts, DecodeRequest accepts with
// the same result; whatever it refuses, DecodeRequest refuses too, except
// inside the two members it skips (whose content it only checks is JSON).
func checkDecode(t *testing.T, payload []byte) {
	t.Helper()
	want, wantErr := stdRequest(payload)
	var got events.APIGatewayV2HTTPRequest
	err := DecodeRequest(payload, &got)
	switch {
	case wantErr == nil && err != nil:
		t.Fatalf("DecodeRequest(%q) = %v, want it decoded as encoding/json does", payload, err)
	case wantErr == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("DecodeRequest(%q)\n got %#v\nwant %#v", payload, got, want)
	case wantErr != nil && err == nil && json.Valid(payload) && !bytes.Contains(bytes.ToLower(payload), []byte("auth")):
		t.Fatalf("DecodeRequest(%q) accepted it, want an error as encoding/json's %v", payload, wantErr)
	case wantErr != nil && err == nil && !json.Valid(payload):
		t.Fatalf("DecodeRequest(%q) accepted invalid JSON", payload)
	}
}

var decodeCases = []struct {
	name    string
	payload string
}{
	{"empty object", `{}`},
	{"null", `null`},
	{"null members", `{"rawPath":null,"headers":null,"cookies":null,"requestContext":null,"isBase64Encoded":null,"body":null}`},
	{"null keeps an earlier value", `{"rawPath":"/a","rawPath":null,"requestContext":{"timeEpoch":5},"requestContext":{"timeEpoch":null}}`},
	{"duplicate maps merge", `{"headers":{"a":"1"},"headers":{"b":"2","a":"3"}}`},
	{"duplicate arrays replace", `{"cookies":["a","b"],"cookies":["c"]}`},
	{"empty array and null elements", `{"cookies":[],"queryStringParameters":{"x":null}}`},
	{"null array elements", `{"cookies":["a",null]}`},
	{"folded names", `{"RAWPATH":"/x","RequestContext":{"HTTP":{"METHOD":"PUT","SourceIP":"1.2.3.4"},"TimeEpoch":7},"IsBase64Encoded":true}`},
	{"kelvin sign folds to k", "{\"routeKey\":\"a\",\"routeKey\":\"b\",\"routeKe\u212a\":\"c\"}"},
	{"unknown members of every type", `{"x":{"y":[1,-2.5e+3,true,false,null,"s",{}]},"rawPath":"/p","z":-0}`},
	{"escapes", `{"body":"\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac\ud83d\ude00"}`},
	{"lone surrogates", `{"body":"a\ud800b\udc00c\ud800\u0041\ud83d"}`},
	{"surrogate then another escape", `{"body":"\ud800\n"}`},
	{"invalid UTF-8", "{\"body\":\"a\xffb\xc3\",\"headers\":{\"k\xfe\":\"v\"}}"},
	{"white space everywhere", " \n{ \"rawPath\" : \"/a\" ,\t\"cookies\" : [ \"c\" , \"d\" ] , \"requestContext\" : { } }\r\n "},
	{"deep unknown nesting", `{"x":[[[[[[[[[[{"a":[[[[]]]]}]]]]]]]]]]}`},
	// Refused by both.
	{"trailing data", `{"rawPath":"/a"} x`},
	{"two documents", `{}{}`},
	{"unterminated", `{"rawPath":"/a"`},
	{"bad escape", `{"body":"\x"}`},
	{"single quote escape", `{"body":"\'"}`},
	{"bad unicode escape", `{"body":"\u12G4"}`},
	{"bad pair second half", `{"body":"\ud800\u12G4"}`},
	{"control character", "{\"body\":\"a\nb\"}"},
	{"string for a bool", `{"isBase64Encoded":"true"}`},
	{"number for a string", `{"rawPath":5}`},
	{"fraction for timeEpoch", `{"requestContext":{"timeEpoch":1.5}}`},
	{"overflowing timeEpoch", `{"requestContext":{"timeEpoch":99999999999999999999}}`},
	{"number for a header", `{"headers":{"a":1}}`},
	{"object for cookies", `{"cookies":{"a":"b"}}`},
	{"array at the top", `[]`},
	{"string at the top", `"x"`},
	{"bad number", `{"x":01}`},
	{"bad number 2", `{"x":-}`},
	{"bad number 3", `{"x":1.}`},
	{"bad number 4", `{"x":1e}`},
	{"missing colon", `{"rawPath" "/a"}`},
	{"trailing comma", `{"rawPath":"/a",}`},
	{"trailing comma in array", `{"cookies":["a",]}`},
	{"bad literal", `{"isBase64Encoded":tru}`},
	{"empty", ``},
}

func TestDecodeRequestAsEncodingJSON(t *testing.T) {
	for _, f := range []string{"testdata/apigw-v2-post.json", "testdata/apigw-v2-jwt.json"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(f, func(t *testing.T) { checkDecode(t, raw) })
	}
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) { checkDecode(t, []byte(tc.payload)) })
	}
}

func TestDecodeRequestRefusesDeepNesting(t *testing.T) {
	payload := `{"x":` + string(bytes.Repeat([]byte("["), maxDepth+1)) + string(bytes.Repeat([]byte("]"), maxDepth+1)) + `}`
	var ev events.APIGatewayV2HTTPRequest
	if err := DecodeRequest([]byte(payload), &ev); err == nil {
		t.Errorf("DecodeRequest of %d nested arrays = nil, want an error", maxDepth+1)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, name := range []string{"testdata/apigw-v2-post.json", "testdata/apigw-v2-jwt.json"} {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, tc := range decodeCases {
		f.Add([]byte(tc.payload))
	}
	f.Fuzz(func(t *testing.T, payload []byte) { checkDecode(t, payload) })
}

// stdResponse is aws-lambda-go's encoding of r: encoding/json, HTML
// escaping off, without the encoder's newline.
func stdResponse(t *testing.T, r events.APIGatewayV2HTTPResponse) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendResponseAsEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		r    events.APIGatewayV2HTTPResponse
	}{
		{"zero", events.APIGatewayV2HTTPResponse{}},
		{"json body", events.APIGatewayV2HTTPResponse{StatusCode: 200,
			Headers: map[string]string{"Content-Type": "application/json", "X-Request-Id": "r", "Cache-Control": "no-store"},
			Body:    `{"success":true,"data":{"status":"scheduled","a<b>&c":"é \u2028 \u2029"}}`}},
		{"base64 and cookies", events.APIGatewayV2HTTPResponse{StatusCode: 201, Headers: map[string]string{},
			Body: "AGJp", IsBase64Encoded: true, Cookies: []string{"a=b; Path=/", "c=\"d\""}}},
		{"control characters and invalid UTF-8", events.APIGatewayV2HTTPResponse{StatusCode: 500,
			Headers: map[string]string{"K\x01": "v\x7f\xff"}, Body: "\x00\b\f\n\r\t\x1f\\\"\xc3"}},
		{"multi-value headers", events.APIGatewayV2HTTPResponse{StatusCode: 204,
			MultiValueHeaders: map[string][]string{"B": {"1", "2"}, "A": nil, "C": {}}, Cookies: []string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := stdResponse(t, tt.r)
			if got := AppendResponse(nil, tt.r); !bytes.Equal(got, want) {
				t.Errorf("AppendResponse(%+v)\n got %s\nwant %s", tt.r, got, want)
			}
		})
	}
}

func FuzzAppendResponse(f *testing.F) {
	f.Add(200, "Content-Type", "application/json", `{"a":"<b>"}`, "c=d", true)
	f.Add(429, "K\x01", "\u2028\xff", "\x00\\\"", "", false)
	f.Fuzz(func(t *testing.T, status int, k, v, body, cookie string, b64 bool) {
		r := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{k: v, "X": k},
			Body: body, IsBase64Encoded: b64, Cookies: []string{cookie}}
		if got, want := AppendResponse(nil, r), stdResponse(t, r); !bytes.Equal(got, want) {
			t.Errorf("AppendResponse(%+v)\n got %s\nwant %s", r, got, want)
		}
	})
}

// BenchmarkEventCodec decodes a status request's event and encodes its
// response, by apigw and by encoding/json (aws-lambda-go's way).
func BenchmarkEventCodec(b *testing.B) {
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: "/v1/campaigns/0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c11/status",
		Headers: map[string]string{"authorization": "Bearer wm_0123456789abcdef0123456789abcdef", "accept": "*/*",
			"host": "127.0.0.1:8080", "user-agent": "Go-http-client/1.1", "accept-encoding": "gzip"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "127.0.0.1", RequestID: "f5c2ae9e-c4bf-426b-be1d-07b605622aa8", Stage: "$default", TimeEpoch: 1796205600000,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/v1/campaigns/0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c11/status",
				Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "Go-http-client/1.1"},
		},
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	resp := events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json",
		"X-Request-Id": "f5c2ae9e", "Ratelimit-Limit": "2000", "Ratelimit-Remaining": "1999", "Ratelimit-Reset": "60"},
		Body: `{"success":true,"data":{"status":"scheduled","total":200,"sent":0,"failed":0,"pending":200,"replies":0,"undelivered":0}}`}
	b.Run("apigw", func(b *testing.B) {
		cpu0 := processCPU()
		for b.Loop() {
			var got events.APIGatewayV2HTTPRequest
			if err := DecodeRequest(payload, &got); err != nil {
				b.Fatal(err)
			}
			_ = AppendResponse(make([]byte, 0, 256+len(resp.Body)), resp)
		}
		b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var got events.APIGatewayV2HTTPRequest
			if err := json.NewDecoder(bytes.NewReader(payload)).Decode(&got); err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(resp); err != nil {
				b.Fatal(err)
			}
		}
	})
}
