package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/sivchari/kumo"
)

func TestRunProvisionsTheProjectTemplate(t *testing.T) {
	srv := kumo.NewServer()
	defer srv.Close()
	env := map[string]string{"AWS_ENDPOINT_URL": srv.URL}
	var out bytes.Buffer
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	stack := "prov-cmd-" + hex.EncodeToString(b)
	args := []string{"-template", "../../../../template.yaml", "-stack", stack}
	for range 2 { // the second run finds everything in place
		out.Reset()
		if err := run(t.Context(), args, func(k string) string { return env[k] }, &out); err != nil {
			t.Fatalf("run: %v", err)
		}
	}
	for _, want := range []string{"CampaignsQueue", "CampaignsDLQ", "ImportsQueue", "ImportsDLQ", "ReportsQueue", "ReportsDLQ", "WebhooksQueue", "WebhooksDLQ", "ImportsBucket"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %s:\n%s", want, out.String())
		}
	}
}

func TestRunNeedsAnEndpoint(t *testing.T) {
	err := run(t.Context(), nil, func(string) string { return "" }, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL") {
		t.Fatalf("run without AWS_ENDPOINT_URL = %v, want an error naming it", err)
	}
}
