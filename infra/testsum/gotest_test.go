// Package testsum holds the test of gotest.sh, the script behind `make test`'s
// Go half: gotestsum runs the tests and the script prints the plain closing
// line that `make test` adds up.
package testsum

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestClosingLine replays recorded `go test -json` streams (made by go test
// on small packages) through gotest.sh. A failure outside any test must count
// as failed and make the script exit non-zero, as a failed test does.
func TestClosingLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		stream string
		want   string
		failed bool
	}{
		{"all pass", "passing.json", "2 passed, 0 failed, 1 skipped", false},
		{"a test fails", "test-fail.json", "2 passed, 1 failed, 1 skipped", true},
		{"a package fails to build", "build-fail.json", "0 passed, 1 failed, 0 skipped", true},
		{"TestMain exits 3 after its test passed", "testmain-exit.json", "1 passed, 1 failed, 0 skipped", true},
		{"init panics before any test", "init-panic.json", "0 passed, 1 failed, 0 skipped", true},
		{"all of the above", "mixed.json", "3 passed, 4 failed, 1 skipped", true},
		{"go test exits 1 and prints nothing", "", "0 passed, 1 failed, 0 skipped", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			replay := []string{"false"}
			if tt.stream != "" {
				stream, err := filepath.Abs(filepath.Join("testdata", tt.stream))
				if err != nil {
					t.Fatal(err)
				}
				replay = []string{"cat", stream}
			}
			args := append([]string{"gotest.sh", t.TempDir(), "--raw-command", "--"}, replay...)
			cmd := exec.CommandContext(t.Context(), "bash", args...)
			out, err := cmd.Output()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatalf("run gotest.sh: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if got := lines[len(lines)-1]; got != tt.want {
				t.Errorf("%s: closing line %q, want %q\noutput:\n%s", tt.stream, got, tt.want, out)
			}
			if got := err != nil; got != tt.failed {
				t.Errorf("%s: exited non-zero = %v, want %v (err %v)", tt.stream, got, tt.failed, err)
			}
		})
	}
}
