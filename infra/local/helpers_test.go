package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testLogger sends slog output to t.Log until the test's cleanups are
// done; later writes (none are expected) are dropped rather than panic.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	mu      sync.Mutex
	t       *testing.T
	stopped bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

var _ io.Writer = (*testWriter)(nil)

// randomName returns prefix plus 10 random hex digits.
func randomName(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// eventually polls cond every 50ms until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		ok, err := cond(ctx)
		if ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s (last error: %v)", what, timeout, lastErr)
		case <-tick.C:
		}
	}
}

// binaries holds the real function binaries, built once per test run and
// shared by every end-to-end test of the package.
var binaries struct {
	once sync.Once
	dir  string
	err  error
}

// functionBinaries returns a directory with every function's bootstrap,
// built by BuildFunctions on first use; TestMain removes it.
func functionBinaries(t *testing.T) string {
	t.Helper()
	binaries.once.Do(func() {
		if binaries.dir, binaries.err = os.MkdirTemp("", "wm-functions-"); binaries.err != nil {
			return
		}
		binaries.err = BuildFunctions(context.Background(), repoRoot, binaries.dir)
	})
	if binaries.err != nil {
		t.Fatalf("BuildFunctions: %v", binaries.err)
	}
	return binaries.dir
}

// callHeaders sends one request and returns the status, body and headers.
func callHeaders(t *testing.T, base, method, path, bearer, body string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s %s: %v", method, path, err)
	}
	return resp.StatusCode, b, resp.Header
}

// e2eConfig is the platform every end-to-end test starts from: the real
// binaries and template, a fresh database, random ports and stack name, a
// short visibility timeout and the test admin key. Tests change what they
// need before Start.
func e2eConfig(t *testing.T, stackPrefix string) Config {
	t.Helper()
	return Config{
		TemplatePath:      filepath.Join(repoRoot, "template.yaml"),
		BinDir:            functionBinaries(t),
		StackName:         randomName(stackPrefix),
		DatabaseURL:       newTestDatabase(t),
		RedisURL:          testRedisURL,
		APIAddr:           "127.0.0.1:0",
		EmulatorAddr:      "127.0.0.1:0",
		VisibilityTimeout: e2eVisibility,
		// Workers hold their messages for the same short time the
		// pollers ask for, so failed messages come back as quickly.
		Parameters: map[string]string{"AdminApiKey": e2eAdminKey, "WorkerVisibilityLease": e2eVisibility.String()},
		Logger:     testLogger(t),
	}
}
