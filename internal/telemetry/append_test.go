package telemetry

import (
	"bytes"
	"context"
	"testing"
	"unsafe"

	"github.com/aws/aws-lambda-go/events"
)

// TestWrappedAppendsAnHTTPResponse: an HTTP handler's response document is
// appended to the buffer given, in its array when it has room, the same
// bytes Invoke returns; another handler's response comes as it is.
func TestWrappedAppendsAnHTTPResponse(t *testing.T) {
	h := Wrap(func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"data":1}`}, nil
	}, Invocations{Function: "api"})
	a, ok := h.(appender)
	if !ok {
		t.Fatalf("Wrap of an HTTP handler gave a %T without InvokeAppend", h)
	}
	ev := []byte(`{"version":"2.0","rawPath":"/v1/me","requestContext":{"http":{"method":"GET","path":"/v1/me"}}}`)
	want, err := h.Invoke(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	dst := append(make([]byte, 0, 4096), "kept"...)
	got, err := a.InvokeAppend(context.Background(), ev, dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, append([]byte("kept"), want...)) {
		t.Errorf("InvokeAppend = %s, want kept%s", got, want)
	}
	if unsafe.SliceData(got) != unsafe.SliceData(dst) {
		t.Error("the response was not appended in the given buffer's array")
	}

	other := Wrap(func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}, Invocations{Function: "worker"}).(appender)
	out, err := other.InvokeAppend(context.Background(), []byte(`{"Records":[]}`), dst)
	if err != nil || !bytes.Equal(out, []byte(`{"batchItemFailures":null}`)) {
		t.Errorf("a worker's InvokeAppend = %s, %v; want its own response", out, err)
	}
}
