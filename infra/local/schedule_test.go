package local

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		expr    string
		want    time.Duration
		wantErr string
	}{
		{"rate(1 minute)", time.Minute, ""},
		{"rate(5 minutes)", 5 * time.Minute, ""},
		{"rate(2 hours)", 2 * time.Hour, ""},
		{"rate(1 day)", 24 * time.Hour, ""},
		{"rate(1 minutes)", 0, "singular"},
		{"rate(5 minute)", 0, "plural"},
		{"rate(0 minutes)", 0, "positive"},
		{"rate(1 fortnight)", 0, "unit"},
		{"cron(0 12 * * ? *)", 0, "only rate"},
		{"rate(1)", 0, "want rate(N unit)"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := ParseRate(tt.expr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRate(%q) = %v, %v; want an error with %q", tt.expr, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRate(%q) = %v, %v; want %v", tt.expr, got, err, tt.want)
			}
		})
	}
}

func TestScheduledEventShape(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 500, time.UTC)
	raw, err := json.Marshal(ScheduledEvent("arn:aws:events:us-east-1:000000000000:rule/x", "000000000000", "us-east-1", at))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.Unmarshal(raw, &got)
	want := map[string]any{
		"version": "0", "detail-type": "Scheduled Event", "source": "aws.events",
		"account": "000000000000", "region": "us-east-1", "time": "2026-12-01T10:00:00Z",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if id, _ := got["id"].(string); id == "" {
		t.Error("id is empty")
	}
	if res, _ := got["resources"].([]any); len(res) != 1 {
		t.Errorf("resources = %v, want the rule ARN", got["resources"])
	}
}
