package wuzapitest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapi"
	"github.com/wuzapi-manager/wuzapi-manager/internal/wuzapitest"
)

// TestFaults: each fault reaches the real client as the failure it stands
// for, the record says whether the message went out and whether its answer
// arrived, and a fault for n sends ends after them.
func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     wuzapitest.Fault
		kind      wuzapi.Kind
		delivered bool
	}{
		{"5xx: WhatsApp refused, nothing went out", wuzapitest.FaultServerError, wuzapi.KindServerError, false},
		{"hang past the client's timeout", wuzapitest.FaultHang, wuzapi.KindTimeout, true},
		{"connection reset after sending", wuzapitest.FaultReset, wuzapi.KindUnreachable, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := wuzapitest.New(t)
			fake.AddUser("tok", wuzapitest.Ready)
			fake.SetFault(tt.fault, 1, time.Minute)
			c := wuzapi.New(fake.URL, "tok", &http.Client{})
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			_, err := c.SendText(ctx, "5511999998888", "oi", "3EB0AA")
			if wuzapi.KindOf(err) != tt.kind || wuzapi.ClassOf(err) != wuzapi.Transient {
				t.Fatalf("SendText = %v (kind %q), want kind %q, transient", err, wuzapi.KindOf(err), tt.kind)
			}
			if fake.FaultsLeft() != 0 {
				t.Errorf("FaultsLeft = %d after the one faulty send, want 0", fake.FaultsLeft())
			}
			waitFor(t, func() bool { s := fake.Sends(); return len(s) == 1 && s[0].NoAnswer == tt.delivered })
			if s := fake.Sends()[0]; s.OK() != tt.delivered || s.ID != "3EB0AA" {
				t.Errorf("send = %+v, want delivered %v with id 3EB0AA", s, tt.delivered)
			}
			if _, err := c.SendText(t.Context(), "5511999998888", "oi", "3EB0AA"); err != nil {
				t.Errorf("send after the fault: %v", err)
			}
		})
	}
}

// waitFor polls cond for up to 10 s (the hang's end is seen by the fake
// after the client left).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatal("condition not met within 10 s")
		case <-tick.C:
		}
	}
}
