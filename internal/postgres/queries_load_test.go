package postgres

import (
	"maps"
	"strings"
	"testing"
)

func TestSplitQueries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       map[string]string
		err        string
	}{
		{"two queries", "-- name: a\nSELECT 1;\n\n-- name: b\nSELECT\n  2;\n",
			map[string]string{"a": "SELECT 1;", "b": "SELECT\n  2;"}, ""},
		{"text before the first name is not a query", "-- header\nSELECT 0;\n-- name: a\nSELECT 1;",
			map[string]string{"a": "SELECT 1;"}, ""},
		{"comments inside a query are kept", "-- name: a\n-- why\nSELECT 1; -- x\n",
			map[string]string{"a": "-- why\nSELECT 1; -- x"}, ""},
		{"indented name line, CRLF", "  -- name:  a \r\nSELECT 1;\r\n-- name: b\r\nSELECT 2;\r\n",
			map[string]string{"a": "SELECT 1;", "b": "SELECT 2;"}, ""},
		{"no trailing newline", "-- name: a\nSELECT 1;", map[string]string{"a": "SELECT 1;"}, ""},
		{"defined twice", "-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n", nil, `f.sql: query "a" defined twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := map[string]string{}
			err := splitQueries("f.sql", tt.text, got)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("splitQueries(%q) error %v, want %q", tt.text, err, tt.err)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Fatalf("splitQueries(%q) = %q, %v; want %q", tt.text, got, err, tt.want)
			}
		})
	}
}

func TestEmbeddedQueriesLoad(t *testing.T) {
	t.Parallel()
	q, err := loadQueries(queryFiles)
	if err != nil {
		t.Fatal(err)
	}
	for name, sql := range q {
		if sql == "" || strings.Contains(sql, "-- name:") {
			t.Errorf("query %s: %q", name, sql)
		}
	}
}

// BenchmarkLoadQueries is what every function's start-up spends on its
// queries.
func BenchmarkLoadQueries(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := loadQueries(queryFiles); err != nil {
			b.Fatal(err)
		}
	}
}
