package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wuzapi-manager/wuzapi-manager/internal/awstest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/queue"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// BenchmarkCreateCampaign100k measures POST /v1/campaigns with 100,000
// inline contacts, from the request to the 202 with every chunk on a real
// SQS queue (kumo in-process). Target: ≤ 5 s per op.
func BenchmarkCreateCampaign100k(b *testing.B) {
	env := awstest.New(b)
	q := env.Queue(b, time.Minute)
	db := pgtest.NewDB(b)
	srv := httpapi.New(httpapi.Options{
		DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), AdminAPIKey: adminKey, PublicBaseURL: "http://api.test",
		AllowPrivateWuzapi: true, Chunks: queue.Chunks{Client: &queue.Client{SQS: env.SQS}, URL: q.URL},
	})
	fake := wuzapitest.New(b)
	fake.AddUser("tok", wuzapitest.Ready)
	call := func(method, path, key string, body []byte) map[string]any {
		req := httptest.NewRequestWithContext(context.Background(), method, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		if rec.Code >= 300 {
			b.Fatalf("%s %s = %d %.300s", method, path, rec.Code, rec.Body.String())
		}
		return out
	}
	tb, _ := json.Marshal(map[string]any{"name": "bench"})
	key := dig(call("POST", "/v1/tenants", adminKey, tb), "data", "apiKey").(string)
	ib, _ := json.Marshal(map[string]any{"name": "i", "baseUrl": fake.URL, "token": "tok"})
	inst := dig(call("POST", "/v1/instances", key, ib), "data", "id").(string)
	contacts := make([]string, httpapi.MaxInlineContacts)
	for i := range contacts {
		contacts[i] = fmt.Sprintf("551198%07d", i)
	}
	body, _ := json.Marshal(map[string]any{"instanceId": inst, "message": "{Oi|Olá} {{name}}", "contacts": contacts})
	b.ReportMetric(float64(len(body))/(1<<20), "MiB/body")
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		out := call("POST", "/v1/campaigns", key, body)
		if dig(out, "data", "contactCount") != float64(httpapi.MaxInlineContacts) {
			b.Fatalf("contactCount = %v", dig(out, "data", "contactCount"))
		}
	}
	b.StopTimer()
	// This process's CPU (API + emulator, not PostgreSQL): a figure that does
	// not depend on how busy the shared machine is.
	b.ReportMetric((processCPU()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	attrs, err := env.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.URL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		b.Fatal(err)
	}
	if n := attrs.Attributes["ApproximateNumberOfMessages"]; n != fmt.Sprint(1000*b.N) {
		b.Fatalf("queue holds %s messages, want %d", n, 1000*b.N)
	}
}

// processCPU is the user+system CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
