package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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

// startPlatform starts the platform of cfg and closes it when the test ends
// (Close is idempotent: a test may close it sooner).
func startPlatform(t *testing.T, cfg Config) *Platform {
	t.Helper()
	p, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// createTenant creates a tenant through the admin API and returns its API
// key.
func createTenant(t *testing.T, p *Platform, name, plan string) string {
	t.Helper()
	status, body := call(t, p.APIURL, "POST", "/v1/tenants", e2eAdminKey, fmt.Sprintf(`{"name":%q,"plan":%q}`, name, plan))
	mustStatus(t, "create tenant", status, body, 201)
	return jsonField(t, body, "data", "apiKey")
}

// createFastInstance creates the tenant's instance "wa" on the WuzAPI at
// baseURL (token "tok") with limits that never make a test wait for what
// it does not test: 1,000 messages a minute, hour and day, no pauses, no
// warm-up, the widest new-contact budgets, no typing and no number checks.
// webhook has the API set the instance's webhook on WuzAPI. It returns the
// instance's id.
func createFastInstance(t *testing.T, p *Platform, key, baseURL string, maxInFlight int, webhook bool) string {
	t.Helper()
	status, body := call(t, p.APIURL, "POST", "/v1/instances", key, fmt.Sprintf(`{"name":"wa","baseUrl":%q,"token":"tok",
		"configureWebhook":%t,"messagesPerMinute":1000,"minDelayMs":0,"maxDelayMs":0,"hourlyCap":1000,"dailyCap":1000,
		"warmupDays":0,"maxInFlight":%d,"newContactsPerDay":500,"newContactsPerHour":200,"identicalPerHour":1000,
		"typing":false,"checkNumbers":false}`, baseURL, webhook, maxInFlight))
	mustStatus(t, "create instance", status, body, 201)
	return jsonField(t, body, "data", "id")
}
