package app

import (
	"context"
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// BenchmarkAPIStatusInvocation is one GET /v1/campaigns/{id}/status as the
// api function serves it once the runtime has handed it the event: event
// decode, routing, authentication, the rate limit, the query, the response
// encode and the end-of-invocation metrics flush, on the local Postgres and
// Redis. The runtime API's own round trips are not in it. "200" resets the
// tenant's allowance every 1,000 requests; "429" never does (the allowance
// refills by one every 30 ms, so a few are 200s).
//
//	go test -run '^$' -bench APIStatusInvocation -benchtime 2000x ./internal/app/
func BenchmarkAPIStatusInvocation(b *testing.B) {
	h, key, status := statusBench(b)
	payload := apiEvent(b, "GET", status, key, nil)
	for _, tc := range []struct {
		name  string
		reset bool
		want  int
	}{{"200", true, 200}, {"429", false, 429}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			if !tc.reset { // spend the allowance first
				for range 3000 {
					out, _ := h.Invoke(ctx, payload)
					var resp events.APIGatewayV2HTTPResponse
					if json.Unmarshal(out, &resp) == nil && resp.StatusCode == 429 {
						break
					}
				}
			}
			// As the runtime's loop calls it: the response appended to one
			// buffer reused from invocation to invocation, when the handler
			// can.
			invoke := h.Invoke
			if a, ok := h.(interface {
				InvokeAppend(ctx context.Context, payload, dst []byte) ([]byte, error)
			}); ok {
				var buf []byte
				invoke = func(ctx context.Context, payload []byte) ([]byte, error) {
					out, err := a.InvokeAppend(ctx, payload, buf[:0])
					buf = out
					return out, err
				}
			}
			i, hits := 0, 0
			cpu0 := processCPU()
			for b.Loop() {
				if tc.reset && i%1000 == 0 {
					b.StopTimer()
					resetLimits(b)
					b.StartTimer()
				}
				i++
				out, err := invoke(ctx, payload)
				if err != nil {
					b.Fatal(err)
				}
				var resp events.APIGatewayV2HTTPResponse
				if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 200 && resp.StatusCode != 429 {
					b.Fatalf("status = %d %s, %v; want 200 or 429", resp.StatusCode, resp.Body, err)
				}
				if resp.StatusCode == tc.want {
					hits++
				}
			}
			b.ReportMetric(float64(hits)/float64(b.N), tc.name+"-share")
			// This process's CPU: the function's, without Postgres and Redis,
			// a figure that does not depend on how busy the machine is.
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// processCPU is the user and system CPU this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPrefix keeps the benchmark's Redis keys apart from other packages'.
var benchPrefix = fmt.Sprintf("appbench%d:", time.Now().UnixNano())

func resetLimits(b *testing.B) {
	b.Helper()
	d := benchDeps
	keys, err := d.Redis.Keys(context.Background(), benchPrefix+"rate:*").Result()
	if err != nil {
		b.Fatal(err)
	}
	if len(keys) > 0 {
		if err := d.Redis.Del(context.Background(), keys...).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

var benchDeps *Deps

// statusBench builds the api function's handler as Start serves it, with
// an enterprise tenant and one campaign of 200 recipients; it returns the
// handler, the tenant's key and the campaign's status path.
func statusBench(b *testing.B) (lambda.Handler, string, string) {
	b.Helper()
	b.Setenv("AWS_REGION", "us-east-1")
	b.Setenv("AWS_ACCESS_KEY_ID", "test")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	const admin = "bench-admin-key-0123456789abcdef0123456789"
	// The function's configuration as it loads it, defaults included.
	for k, v := range map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME": "api", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "DEPLOYMENT_ENVIRONMENT": "bench",
		"DATABASE_URL": pgtest.NewDatabase(b), "REDIS_URL": "redis://127.0.0.1:6379/0", "REDIS_KEY_PREFIX": benchPrefix,
		"ADMIN_API_KEY": admin, "ALLOW_PRIVATE_WUZAPI": "true", "METRICS_TOKEN": admin,
	} {
		b.Setenv(k, v)
	}
	cfg, err := config.Load[config.API]()
	if err != nil {
		b.Fatal(err)
	}
	d, err := OpenAPI(context.Background(), cfg.Shared)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Close() })
	benchDeps = d
	h := wrap(d, API(d, cfg))
	call := func(method, path, key string, in any, want int) map[string]any {
		out, err := h.Invoke(context.Background(), apiEvent(b, method, path, key, in))
		if err != nil {
			b.Fatal(err)
		}
		var resp events.APIGatewayV2HTTPResponse
		var body map[string]any
		if err := json.Unmarshal(out, &resp); err != nil || json.Unmarshal([]byte(resp.Body), &body) != nil || resp.StatusCode != want {
			b.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, resp.Body, want)
		}
		return body["data"].(map[string]any)
	}
	key := call("POST", "/v1/tenants", admin, map[string]any{"name": "Bench", "plan": "enterprise"}, 201)["apiKey"].(string)
	fake := wuzapitest.New(b)
	fake.AddUser("tok", wuzapitest.Ready)
	inst := call("POST", "/v1/instances", key, map[string]any{"name": "n", "baseUrl": fake.URL, "token": "tok"}, 201)["id"].(string)
	contacts := make([]string, 200)
	for i := range contacts {
		contacts[i] = fmt.Sprintf("5511900%06d", i)
	}
	camp := call("POST", "/v1/campaigns", key, map[string]any{"instanceId": inst, "message": "Oi {{name}}", "contacts": contacts,
		"scheduledAt": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}, 202)["jobId"].(string)
	return h, key, "/v1/campaigns/" + camp + "/status"
}

// apiEvent is the API Gateway (HTTP API, payload 2.0) event of a request.
func apiEvent(b *testing.B, method, path, key string, in any) []byte {
	b.Helper()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path,
		Headers: map[string]string{"authorization": "Bearer " + key, "content-type": "application/json",
			"host": "api.test", "user-agent": "bench", "accept": "*/*"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "api.test", RequestID: "req-1", Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1"},
		},
	}
	if in != nil {
		body, _ := json.Marshal(in)
		ev.Body = string(body)
	}
	out, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	return out
}
