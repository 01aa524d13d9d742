package local

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"context"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// otlpReceiver is an in-process OTLP/HTTP trace collector.
type otlpReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []receivedSpan
}

type receivedSpan struct {
	Name, TraceID, Function string
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	r := &otlpReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var in collectortrace.ExportTraceServiceRequest
		if req.URL.Path != "/v1/traces" || proto.Unmarshal(b, &in) != nil {
			http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rs := range in.ResourceSpans {
			var fn string
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "faas.name" {
					fn = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					r.spans = append(r.spans, receivedSpan{Name: s.Name, TraceID: hex.EncodeToString(s.TraceId), Function: fn})
				}
			}
		}
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(r.srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Logf("spans received: %+v", r.spans)
		}
	})
	return r
}

// inTrace returns the spans of traceID.
func (r *otlpReceiver) inTrace(traceID string) []receivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []receivedSpan
	for _, s := range r.spans {
		if s.TraceID == traceID {
			out = append(out, s)
		}
	}
	return out
}

// TestOneTraceAcrossTheFunctions runs the real binaries with the OTLP
// endpoint pointed at an in-process receiver: a campaign created with a
// client's traceparent is one trace from the api function through the
// campaigns queue and campaign-worker to the fake WuzAPI's send, and
// GET /metrics shows the send, counted by the worker's instance.
func TestOneTraceAcrossTheFunctions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	receiver := newOTLPReceiver(t)
	fake := wuzapitest.New(t)
	fake.AddUser("tok", wuzapitest.Ready)
	cfg := e2eConfig(t, "wm-obs-")
	cfg.ScheduleInterval = time.Hour // the scheduler stays out of this trace
	cfg.Parameters["OtelExporterOtlpEndpoint"] = receiver.srv.URL
	cfg.Parameters["AllowPrivateWuzapi"] = "true"
	cfg.Parameters["MetricsToken"] = "e2e-scrape-token-of-at-least-32-characters"
	p := startPlatform(t, cfg)

	status, body := call(t, p.APIURL, http.MethodPost, "/v1/tenants", e2eAdminKey, `{"name":"Traced"}`)
	var tenant struct {
		Data struct{ APIKey string } `json:"data"`
	}
	if status != http.StatusCreated || json.Unmarshal(body, &tenant) != nil {
		t.Fatalf("POST /v1/tenants = %d %s", status, body)
	}
	key := tenant.Data.APIKey
	status, body = call(t, p.APIURL, http.MethodPost, "/v1/instances", key, `{"name":"main","baseUrl":"`+fake.URL+`","token":"tok"}`)
	var inst struct {
		Data struct{ ID string } `json:"data"`
	}
	if status != http.StatusCreated || json.Unmarshal(body, &inst) != nil || inst.Data.ID == "" {
		t.Fatalf("POST /v1/instances = %d %s", status, body)
	}

	// Redis may hold counts of earlier runs: the send must move the total by one.
	sentBefore := scrape(t, p.APIURL, `campaign_messages_total{status="sent"}`)
	const traceID = "5b8efff798038103d269b633813fc60c"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.APIURL+"/v1/campaigns",
		strings.NewReader(`{"instanceId":"`+inst.Data.ID+`","message":"hello","contacts":["5511999990001"]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-eee19b7ec3c1b174-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/campaigns = %d %s", resp.StatusCode, b)
	}

	has := func(spans []receivedSpan, fn, name string) bool {
		for _, s := range spans {
			if strings.HasSuffix(s.Function, fn) && (name == "" || s.Name == name) {
				return true
			}
		}
		return false
	}
	eventually(t, 90*time.Second, "the campaign's trace through the worker to WuzAPI", func(context.Context) (bool, error) {
		spans := receiver.inTrace(traceID)
		return has(spans, "ApiFunction", "POST /v1/campaigns") &&
			has(spans, "CampaignWorkerFunction", "process "+p.Resources.Queues["CampaignsQueue"].Name) &&
			has(spans, "CampaignWorkerFunction", "POST /chat/send/text"), nil
	})
	if sends := fake.Sends(); len(sends) != 1 || sends[0].Phone != "5511999990001" {
		t.Fatalf("WuzAPI sends = %+v, want one to the recipient", sends)
	}

	eventually(t, 30*time.Second, "the worker's send in GET /metrics", func(context.Context) (bool, error) {
		return scrape(t, p.APIURL, `campaign_messages_total{status="sent"}`) == sentBefore+1 &&
			scrape(t, p.APIURL, `http_request_duration_seconds_count{method="POST",route="POST /v1/campaigns",status_code="202"}`) >= 1, nil
	})
	if status, _ := call(t, p.APIURL, http.MethodGet, "/metrics", "", ""); status != http.StatusUnauthorized {
		t.Fatalf("GET /metrics without the token = %d, want 401", status)
	}
}

// scrape returns the value of one series in GET /metrics, 0 when absent.
func scrape(t *testing.T, base, series string) float64 {
	t.Helper()
	status, body := call(t, base, http.MethodGet, "/metrics", "e2e-scrape-token-of-at-least-32-characters", "")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics = %d %s", status, body)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("GET /metrics: %q: %v", line, err)
			}
			return f
		}
	}
	return 0
}
