package main

import (
	"bytes"
	"strings"
	"testing"
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
