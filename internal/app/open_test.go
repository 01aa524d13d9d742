package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wuzapi-manager/wuzapi-manager/internal/blocksock"
	"github.com/wuzapi-manager/wuzapi-manager/internal/config"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
)

func TestOpenInstallsTelemetryOnlyWithAnEndpoint(t *testing.T) {
	collector := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer collector.Close()
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	base := config.Shared{FunctionName: "api", DatabaseURL: pgtest.NewDatabase(t), RedisURL: "redis://127.0.0.1:6379/0"}
	tests := []struct {
		name     string
		endpoint string
		traced   bool
	}{
		{"no endpoint: tracing off", "", false},
		{"endpoint: every client instrumented", collector.URL, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			c.OTLPEndpoint = tt.endpoint
			d, err := Open(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := d.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			}()
			if d.Tracing.Enabled() != tt.traced || (d.Queue.Attributes != nil) != tt.traced ||
				(d.DB.Pool.Config().ConnConfig.Tracer != nil) != tt.traced || (len(d.AWS.APIOptions) > 0) != tt.traced {
				t.Fatalf("traced = %v, queue attributes %v, pgx tracer %v, AWS middlewares %d; want all %v",
					d.Tracing.Enabled(), d.Queue.Attributes != nil, d.DB.Pool.Config().ConnConfig.Tracer != nil, len(d.AWS.APIOptions), tt.traced)
			}
			if d.Flusher == nil || d.Fleet == nil {
				t.Fatal("no fleet metrics flusher")
			}
		})
	}
}

// TestOnlyTheAPIDialsBlockingSockets: OpenAPI's Postgres connections are
// sockets outside the network poller, Open's (the workers') net.Dialer's.
func TestOnlyTheAPIDialsBlockingSockets(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	c := config.Shared{FunctionName: "api", DatabaseURL: pgtest.NewDatabase(t), RedisURL: "redis://127.0.0.1:6379/0"}
	for _, tt := range []struct {
		name     string
		open     func(context.Context, config.Shared) (*Deps, error)
		blocking bool
	}{{"OpenAPI", OpenAPI, true}, {"Open", Open, false}} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.open(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = d.Close() }()
			conn, err := d.DB.Pool.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Release()
			nc := conn.Conn().PgConn().Conn()
			if _, ok := nc.(*blocksock.Conn); ok != tt.blocking {
				t.Errorf("%s's connection is a %T; want a blocksock.Conn: %v", tt.name, nc, tt.blocking)
			}
		})
	}
}
