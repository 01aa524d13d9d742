package httpapi_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wuzapi-manager/wuzapi-manager/internal/httpapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
)

// BenchmarkWuzapiWebhookReceipt measures one delivery receipt through the
// webhook: authenticate, store the event, apply it to its recipient, answer.
// A large campaign's receipts arrive at up to 6,000 a minute per instance,
// i.e. 100 a second; each webhook is one commit.
//
//	go test -run '^$' -bench WuzapiWebhookReceipt -benchtime 2000x ./internal/httpapi/
func BenchmarkWuzapiWebhookReceipt(b *testing.B) {
	for _, par := range []int{1, 8} {
		b.Run(fmt.Sprintf("goroutines=%d", par*runtime.GOMAXPROCS(0)), func(b *testing.B) { benchWebhook(b, par) })
	}
}

func benchWebhook(b *testing.B, par int) {
	db := pgtest.NewDB(b)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	b.Cleanup(func() { _ = rdb.Close() })
	srv := httpapi.New(httpapi.Options{DB: db, Redis: rdb, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	f := newFixture(b, db, 1000)
	hook := "/v1/webhooks/wuzapi/" + f.instanceID + "?secret=s3cret"
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var n atomic.Int64
	b.SetParallelism(par) // goroutines per GOMAXPROCS
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			state := "Delivered"
			if i%2 == 1 {
				state = "Read"
			}
			body := formEvent(fmt.Sprintf(`{"type":"ReadReceipt","state":%q,"event":{"MessageIDs":[%q],"Timestamp":%q}}`,
				state, f.msg(i/2%1000), base.Add(time.Duration(i)*time.Second).Format(time.RFC3339)))
			req := httptest.NewRequest("POST", hook, strings.NewReader(body))
			req.Header.Set("Content-Type", formCT)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Errorf("webhook: %d %s", rec.Code, rec.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
}
