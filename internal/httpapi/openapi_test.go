package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/wuzapi-manager/wuzapi-manager/internal/apigw"
	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
)

type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

// TestOpenAPIDescribesEveryRoute fails when a route is registered but not
// described (method and path), so the description cannot fall behind.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	var doc openAPIDoc
	if err := json.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	b := setup(t)
	routes := b.srv.Routes()
	if !slices.Contains(routes, "GET /openapi.json") {
		t.Fatal("GET /openapi.json is not registered")
	}
	for _, pattern := range routes {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			t.Errorf("route %q has no method", pattern)
			continue
		}
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %q is registered but not described in openapi.json", pattern)
		}
	}
}

// TestOpenAPIExamplesValidate compiles every request and response schema of
// the document and validates the example beside it.
func TestOpenAPIExamplesValidate(t *testing.T) {
	t.Parallel()
	raw := httpapi.OpenAPI()
	root, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	const base = "mem:///openapi.json"
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(base, root); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]operation `json:"paths"`
		Components struct {
			Responses map[string]response `json:"responses"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	checked := 0
	check := func(where string, pointer string, example json.RawMessage) {
		t.Helper()
		if example == nil {
			return
		}
		sch, err := c.Compile(base + "#" + pointer)
		if err != nil {
			t.Errorf("%s: compile schema: %v", where, err)
			return
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(example))
		if err != nil {
			t.Errorf("%s: example: %v", where, err)
			return
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s: example does not validate: %v", where, err)
		}
		checked++
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			at := "/paths/" + escape(path) + "/" + method
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", method, path)
			}
			if op.RequestBody != nil {
				for mt, m := range op.RequestBody.Content {
					check(method+" "+path+" request "+mt, at+"/requestBody/content/"+escape(mt)+"/schema", m.Example)
				}
			}
			if len(op.Responses) == 0 {
				t.Errorf("%s %s describes no response", method, path)
			}
			for code, r := range op.Responses {
				if r.Ref != "" {
					continue // checked once below
				}
				for mt, m := range r.Content {
					check(method+" "+path+" "+code+" "+mt, at+"/responses/"+code+"/content/"+escape(mt)+"/schema", m.Example)
				}
			}
		}
	}
	for name, r := range doc.Components.Responses {
		for mt, m := range r.Content {
			check("response "+name, "/components/responses/"+name+"/content/"+escape(mt)+"/schema", m.Example)
		}
	}
	if checked < 40 {
		t.Fatalf("only %d examples checked", checked)
	}
}

type mediaType struct {
	Example json.RawMessage `json:"example"`
}

type response struct {
	Ref     string               `json:"$ref"`
	Content map[string]mediaType `json:"content"`
}

type operation struct {
	OperationID string `json:"operationId"`
	RequestBody *struct {
		Content map[string]mediaType `json:"content"`
	} `json:"requestBody"`
	Responses map[string]response `json:"responses"`
}

// escape makes a JSON Pointer token of s (RFC 6901), percent-encoding what a
// URI fragment cannot hold.
func escape(s string) string {
	s = strings.ReplaceAll(s, "~", "~0")
	s = strings.ReplaceAll(s, "/", "~1")
	s = strings.ReplaceAll(s, "{", "%7B")
	return strings.ReplaceAll(s, "}", "%7D")
}

// TestCompressionThroughAPIGateway serves the (large) description through
// the API Gateway adapter: compressed bodies travel base64 with
// isBase64Encoded, uncompressed ones as text.
func TestCompressionThroughAPIGateway(t *testing.T) {
	t.Parallel()
	b := setup(t)
	h := apigw.Handler(b.srv)
	want := httpapi.OpenAPI()
	tests := []struct {
		name    string
		headers map[string]string
		enc     string
	}{
		{"brotli", map[string]string{"accept-encoding": "gzip, deflate, br"}, "br"},
		{"gzip", map[string]string{"accept-encoding": "gzip"}, "gzip"},
		{"x-no-compression", map[string]string{"accept-encoding": "br, gzip", "x-no-compression": "true"}, ""},
		{"no accept-encoding", map[string]string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := events.APIGatewayV2HTTPRequest{RawPath: "/openapi.json", Headers: tt.headers,
				RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", SourceIP: "203.0.113.9"}}}
			resp, err := h(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || resp.Headers["Vary"] != "Accept-Encoding" || resp.Headers["Content-Encoding"] != tt.enc || resp.IsBase64Encoded != (tt.enc != "") {
				t.Fatalf("status %d, headers %v, base64 %v", resp.StatusCode, resp.Headers, resp.IsBase64Encoded)
			}
			body := []byte(resp.Body)
			if resp.IsBase64Encoded {
				if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
					t.Fatal(err)
				}
				if len(body) >= len(want)/3 {
					t.Errorf("compressed to %d of %d bytes", len(body), len(want))
				}
			}
			var r io.Reader = bytes.NewReader(body)
			switch tt.enc {
			case "br":
				r = brotli.NewReader(r)
			case "gzip":
				if r, err = gzip.NewReader(r); err != nil {
					t.Fatal(err)
				}
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("body decodes to %d bytes (%v), want the %d-byte description", len(got), err, len(want))
			}
		})
	}
	// A short answer is never compressed.
	resp, err := h(context.Background(), events.APIGatewayV2HTTPRequest{RawPath: "/v1/me", Headers: map[string]string{"accept-encoding": "br"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}}})
	if err != nil || resp.StatusCode != http.StatusUnauthorized || resp.IsBase64Encoded || resp.Headers["Content-Encoding"] != "" || resp.Headers["Vary"] != "Accept-Encoding,Authorization" {
		t.Fatalf("short answer: %+v, %v", resp, err)
	}
}
