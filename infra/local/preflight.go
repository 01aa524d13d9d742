package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
)

// checkTimeout bounds each dependency check, so that a wrong address never
// hangs the start.
const checkTimeout = 5 * time.Second

// listen opens addr; envName is the setting to change when it is taken.
func listen(addr, what, envName string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("port %s for the %s is in use: stop what listens there or set %s to a free address", addr, what, envName)
		}
		return nil, fmt.Errorf("cannot listen on %s for the %s: %v: set %s to a valid address", addr, what, oneLine(err), envName)
	}
	return l, nil
}

// checkPostgres connects to the server of databaseURL. A database that does
// not exist yet is fine: EnsureDatabase creates it.
func checkPostgres(ctx context.Context, databaseURL string) error {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL is not a PostgreSQL URL: %v", oneLine(err))
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name
		return nil
	}
	return fmt.Errorf("PostgreSQL at %s:%d is unreachable (%s): start PostgreSQL or set DATABASE_URL", cfg.Host, cfg.Port, oneLine(rootCause(err)))
}

// checkRedis pings the server of redisURL.
func checkRedis(ctx context.Context, redisURL string) error {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL is not a Redis URL: %v", oneLine(err))
	}
	opts.MaxRetries = -1
	opts.DialTimeout = checkTimeout
	client := redis.NewClient(opts)
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		//nolint:staticcheck // ST1005: the line a person reads starts with the name Redis
		return fmt.Errorf("Redis at %s is unreachable (%s): start Redis or set REDIS_URL", opts.Addr, oneLine(rootCause(err)))
	}
	return nil
}

// checkBinary checks that a function's host binary is there.
func checkBinary(path, logicalID string) error {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Errorf("binary of %s not found at %s: build it (make build-local) or pass -bin", logicalID, path)
	case st.IsDir() || st.Mode()&0o111 == 0:
		return fmt.Errorf("binary of %s at %s is not an executable file: rebuild it (make build-local)", logicalID, path)
	}
	return nil
}

// rootCause unwraps to the innermost error, whose text is the shortest
// useful one (connection refused, no such host, ...).
func rootCause(err error) error {
	for {
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			return op.Err
		}
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// oneLine folds an error text onto one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// absPath returns path made absolute, for messages and child processes.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}
