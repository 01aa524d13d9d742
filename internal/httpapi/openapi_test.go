package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/wuzapi-manager/wuzapi-manager/internal/apigw"
	"github.com/wuzapi-manager/wuzapi-manager/internal/awstest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/blob"
	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
	"github.com/wuzapi-manager/wuzapi-manager/internal/report"
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
			if resp.StatusCode != 200 || !strings.Contains(resp.Headers["Vary"], "Accept-Encoding") || resp.Headers["Content-Encoding"] != tt.enc || resp.IsBase64Encoded != (tt.enc != "") {
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
	if err != nil || resp.StatusCode != http.StatusUnauthorized || resp.IsBase64Encoded || resp.Headers["Content-Encoding"] != "" || !strings.Contains(resp.Headers["Vary"], "Accept-Encoding") {
		t.Fatalf("short answer: %+v, %v", resp, err)
	}
}

// answerSchemas compiles the documented schema of a route's answers.
type answerSchemas struct {
	t   *testing.T
	c   *jsonschema.Compiler
	doc map[string]map[string]operation
}

func newAnswerSchemas(t *testing.T) answerSchemas {
	t.Helper()
	raw := httpapi.OpenAPI()
	root, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("mem:///openapi.json", root); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]operation `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return answerSchemas{t: t, c: c, doc: doc.Paths}
}

// check validates a live answer of route ("GET /v1/reports/{id}") against
// the schema documented for its status.
func (a answerSchemas) check(route string, r reply) {
	a.t.Helper()
	method, path, _ := strings.Cut(route, " ")
	method = strings.ToLower(method)
	code := strconv.Itoa(r.Status)
	resp, ok := a.doc[path][method].Responses[code]
	if !ok {
		a.t.Errorf("%s answered %d, which is not described", route, r.Status)
		return
	}
	pointer := "/paths/" + escape(path) + "/" + method + "/responses/" + code
	if name, ok := strings.CutPrefix(resp.Ref, "#/components/responses/"); ok {
		pointer = "/components/responses/" + name
	}
	sch, err := a.c.Compile("mem:///openapi.json#" + pointer + "/content/application~1json/schema")
	if err != nil {
		a.t.Fatalf("%s %d: %v", route, r.Status, err)
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(r.Raw))
	if err != nil {
		a.t.Fatalf("%s %d: body %q: %v", route, r.Status, r.Raw, err)
	}
	if err := sch.Validate(v); err != nil {
		a.t.Errorf("%s %d: the answer does not match its description: %v\n%s", route, r.Status, err, r.Raw)
	}
}

// TestOpenAPIMatchesLiveAnswers checks real answers of the reports,
// webhook, tenant and error paths against their documented schemas.
func TestOpenAPIMatchesLiveAnswers(t *testing.T) {
	t.Parallel()
	var db *postgres.DB
	env := awstest.New(t)
	store := blob.New(env.S3, env.Bucket(t))
	b := setup(t, func(o *httpapi.Options) {
		db = o.DB
		o.ReportsQueueURL = "http://sqs.test/reports"
		o.ReportSender = &sentMessages{}
		o.ReportLinks = store
		o.Uploads = store
	})
	schemas := newAnswerSchemas(t)
	f := newFixture(t, db, 2)

	m := b.do(t, "POST", "/v1/media", f.key, map[string]any{"fileName": "a.png", "contentType": "image/png", "size": 10})
	schemas.check("POST /v1/media", m)
	schemas.check("POST /v1/media", b.do(t, "POST", "/v1/media", f.key, map[string]any{"fileName": "a.gif", "contentType": "image/gif", "size": 10}))
	mid, _ := dig(m.Body, "data", "mediaId").(string)
	schemas.check("GET /v1/media/{id}", b.do(t, "GET", "/v1/media/"+mid, f.key, nil))
	schemas.check("GET /v1/media/{id}", b.do(t, "GET", "/v1/media/00000000-0000-0000-0000-000000000000", f.key, nil))
	schemas.check("GET /v1/media", b.do(t, "GET", "/v1/media", f.key, nil))

	schemas.check("GET /health", b.do(t, "GET", "/health", "", nil))
	schemas.check("POST /v1/tenants", b.do(t, "POST", "/v1/tenants", adminKey, `{"name":"Described"}`))
	schemas.check("POST /v1/tenants", b.do(t, "POST", "/v1/tenants", adminKey, `{"name":""}`))
	schemas.check("GET /v1/me", b.do(t, "GET", "/v1/me", f.key, nil))
	schemas.check("GET /v1/me", b.do(t, "GET", "/v1/me", "", nil))
	r := b.do(t, "POST", "/v1/reports", f.key, map[string]any{"type": "campaign", "campaignId": f.campaignID})
	schemas.check("POST /v1/reports", r)
	id, _ := dig(r.Body, "data", "reportId").(string)
	schemas.check("GET /v1/reports/{id}", b.do(t, "GET", "/v1/reports/"+id, f.key, nil))
	gen := &report.Generator{Store: postgres.ReportStore{DB: db}, Sink: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := gen.Generate(context.Background(), id, false); err != nil {
		t.Fatal(err)
	}
	schemas.check("GET /v1/reports/{id}", b.do(t, "GET", "/v1/reports/"+id, f.key, nil))
	schemas.check("GET /v1/reports/{id}", b.do(t, "GET", "/v1/reports/00000000-0000-0000-0000-000000000000", f.key, nil))
	schemas.check("POST /v1/reports", b.do(t, "POST", "/v1/reports", f.key, `{"type":"x"}`))
	hook := "/v1/webhooks/wuzapi/" + f.instanceID + "?secret=s3cret"
	schemas.check("POST /v1/webhooks/wuzapi/{instanceId}", b.post(t, hook, formCT, formEvent(`{"type":"Presence","event":{}}`)))
	schemas.check("POST /v1/webhooks/wuzapi/{instanceId}", b.post(t, hook+"x", formCT, formEvent(`{"type":"Presence","event":{}}`)))
	schemas.check("POST /v1/webhooks/wuzapi/{instanceId}", b.post(t, hook, formCT, "nope"))

	// Other areas' routes, on the fixture's rows.
	schemas.check("GET /v1/campaigns/{id}", b.do(t, "GET", "/v1/campaigns/"+f.campaignID, f.key, nil))
	schemas.check("GET /v1/campaigns/{id}/status", b.do(t, "GET", "/v1/campaigns/"+f.campaignID+"/status", f.key, nil))
	schemas.check("GET /v1/campaigns/{id}/recipients", b.do(t, "GET", "/v1/campaigns/"+f.campaignID+"/recipients", f.key, nil))
	schemas.check("GET /v1/campaigns/{id}/timeline", b.do(t, "GET", "/v1/campaigns/"+f.campaignID+"/timeline", f.key, nil))
	schemas.check("GET /v1/campaigns", b.do(t, "GET", "/v1/campaigns", f.key, nil))
	schemas.check("GET /v1/instances", b.do(t, "GET", "/v1/instances", f.key, nil))
	schemas.check("POST /v1/campaigns/{id}/pause", b.do(t, "POST", "/v1/campaigns/"+f.campaignID+"/pause", f.key, nil))
	schemas.check("POST /v1/campaigns/{id}/pause", b.do(t, "POST", "/v1/campaigns/"+f.campaignID+"/pause", f.key, nil))
	schemas.check("POST /v1/contacts", b.do(t, "POST", "/v1/contacts", f.key, `{"contacts":[{"phone":"5511999998888","name":"Ana","city":"Rio"},{"phone":"12"}]}`))
	schemas.check("GET /v1/contacts", b.do(t, "GET", "/v1/contacts", f.key, nil))
	schemas.check("DELETE /v1/contacts/{id}", b.do(t, "DELETE", "/v1/contacts/00000000-0000-0000-0000-000000000000", f.key, nil))
}
