package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/infra/local"
)

func TestRunFailsWithOneLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad log level", nil, map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"bad concurrency", []string{"-template", "../../../../template.yaml"}, map[string]string{"FUNCTION_CONCURRENCY": "zero"}, "FUNCTION_CONCURRENCY"},
		{"missing template", []string{"-template", "nope.yaml"}, nil, "nope.yaml"},
		{"missing binaries", []string{"-template", "../../../../template.yaml", "-bin", t.TempDir()}, nil, "make build-local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, func(k string) string { return tt.env[k] }, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run = %v, want an error mentioning %s", err, tt.want)
			}
		})
	}
}

func TestNewKey(t *testing.T) {
	a, err := newKey()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newKey()
	if a == b || len(a) < 32 {
		t.Errorf("newKey = %q, %q: want two different keys of at least 32 characters (the template's MinLength)", a, b)
	}
}

// The run prints the metrics token with the command that scrapes, and says
// when it was made up for the run.
func TestPrintRunningShowsMetricsToken(t *testing.T) {
	p := &local.Platform{APIURL: "http://127.0.0.1:8080", AWSEndpointURL: "http://127.0.0.1:4566", MetricsToken: "met_abc"}
	for _, set := range []bool{false, true} {
		var out bytes.Buffer
		printRunning(&out, p, false, "", set)
		if want := "curl -H 'Authorization: Bearer met_abc' http://127.0.0.1:8080/metrics"; !strings.Contains(out.String(), want) {
			t.Fatalf("METRICS_TOKEN set=%v: output lacks %q:\n%s", set, want, out.String())
		}
		if got := strings.Contains(out.String(), "generated for this run; set METRICS_TOKEN"); got == set {
			t.Fatalf("METRICS_TOKEN set=%v: says generated = %v:\n%s", set, got, out.String())
		}
	}
}
