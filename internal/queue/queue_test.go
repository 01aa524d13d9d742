package queue

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestProcessReportsOnlyFailedMessages(t *testing.T) {
	raw, err := os.ReadFile("testdata/sqs-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	r := NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	var handled []string
	r.Handle("test.ok", func(_ context.Context, m events.SQSMessage) error {
		handled = append(handled, m.MessageId)
		return nil
	})
	r.Handle("test.fail", func(context.Context, events.SQSMessage) error { return errors.New("boom") })

	resp, err := r.Process(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	wantFailed := []string{"m-fail", "m-version", "m-type", "m-garbage"}
	if len(failed) != len(wantFailed) {
		t.Fatalf("failed = %v, want %v", failed, wantFailed)
	}
	for i := range wantFailed {
		if failed[i] != wantFailed[i] {
			t.Fatalf("failed = %v, want %v", failed, wantFailed)
		}
	}
	if len(handled) != 1 || handled[0] != "m-ok" {
		t.Fatalf("handled = %v, want [m-ok]", handled)
	}
}

func TestDispatchUnknown(t *testing.T) {
	r := NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, body := range []string{`{"v":99,"type":"x"}`, `{"v":1,"type":"x"}`, `nope`, `{}`} {
		if err := r.Dispatch(context.Background(), events.SQSMessage{Body: body}); !errors.Is(err, ErrUnknownMessage) {
			t.Errorf("Dispatch(%s) = %v, want ErrUnknownMessage", body, err)
		}
	}
}
