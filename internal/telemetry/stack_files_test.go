package telemetry

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"
)

// TestObservabilityStackNamesRealMetrics keeps infra/observability (the
// Prometheus rules and the Grafana dashboard) in step with the metrics: every
// file parses, and every metric it names is one of metrics.go's families.
func TestObservabilityStackNamesRealMetrics(t *testing.T) {
	t.Parallel()
	root := "../../infra/observability"
	metric := regexp.MustCompile(`\b[a-z_]+_(?:total|seconds_bucket|seconds_count|seconds_sum|seconds)\b`)
	known := map[string]bool{}
	for _, f := range families {
		known[f.name] = true
		if f.kind == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_count", "_sum"} {
				known[f.name+s] = true
			}
		}
	}
	var checked int
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var v any
		switch filepath.Ext(path) {
		case ".json":
			err = json.Unmarshal(b, &v)
		case ".yml", ".yaml":
			err = yaml.Unmarshal(b, &v)
		default:
			return nil
		}
		if err != nil {
			t.Errorf("%s does not parse: %v", path, err)
		}
		for _, m := range metric.FindAllString(string(b), -1) {
			if !known[m] && !strings.HasPrefix(m, "storage_") {
				t.Errorf("%s names %s, which is not a metric family of metrics.go", path, m)
			}
			checked++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("only %d metric references found under %s", checked, root)
	}
}
