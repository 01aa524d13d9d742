package telemetry

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestHTTPResponseWrittenOnce: an API answer's document (a status answer's
// headers and JSON body, whose quotes are escaped) is written into one
// buffer sized for it, not grown while it is written.
func TestHTTPResponseWrittenOnce(t *testing.T) {
	resp := events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{
		"Cache-Control": "no-store", "Content-Type": "application/json; charset=utf-8", "Ratelimit-Limit": "2000",
		"Ratelimit-Remaining": "1999", "Ratelimit-Reset": "1", "Vary": "Accept-Encoding,Authorization"},
		Body: `{"success":true,"data":{"jobId":"0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c11","state":"running","progress":77,` +
			`"result":{"processed":150,"failed":4,"total":200,"undelivered":3,"replied":12,"replyRate":0.08}}}` + "\n"}
	h := httpInvoker(func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return resp, nil
	})
	payload := []byte(`{"rawPath":"/v1/campaigns/0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c11/status"}`)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := h.Invoke(ctx, payload); err != nil {
			t.Fatal(err)
		}
	})
	// The payload's one copy (its strings are slices of it) and the
	// response's buffer.
	if allocs > 2 {
		t.Errorf("an API invocation around a handler that allocates nothing: %.0f allocations, want 2", allocs)
	}
	// Appended to a buffer with room (the runtime loop's): the copy alone.
	buf := make([]byte, 0, 4096)
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := h.InvokeAppend(ctx, payload, buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("the same appended to a buffer with room: %.0f allocations, want 1", allocs)
	}
}
