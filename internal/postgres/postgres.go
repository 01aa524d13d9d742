// Package postgres is the only package that speaks pgx: the connection pool,
// the embedded migrations and the named queries of queries/*.sql.
//
// Every tenant-owned query filters on tenant_id in its WHERE clause, so a
// foreign id finds nothing and callers answer NOT_FOUND.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wuzapi-manager/wuzapi-manager/internal/blocksock"
	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
	"github.com/wuzapi-manager/wuzapi-manager/internal/webhook"
)

//go:embed queries/*.sql
var queryFiles embed.FS

// DB is the application's handle on PostgreSQL.
type DB struct {
	Pool    *pgxpool.Pool
	queries map[string]string
	now     func() time.Time
	// audienceCountBudget is how long a preview's exact count may run.
	audienceCountBudget time.Duration
	webhooks            webhook.Nudger
	logger              *slog.Logger
}

// Options tunes a DB; the zero value is fine.
type Options struct {
	// MaxConns caps the pool; Lambda instances serve one request at a time,
	// so a small pool per instance keeps the fleet under the server's limit.
	MaxConns int32
	// Pooled says the URL is a pooler in transaction mode (pgbouncer, RDS
	// Proxy): each transaction may run on another server connection, so no
	// statement may be prepared by name on one and used on the next.
	// Queries then run in PooledExecMode.
	Pooled bool
	// Tracer, when set, instruments every query (telemetry installs otelpgx).
	Tracer pgx.QueryTracer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// ConnectLater skips Open's check: the first connection is opened in the
	// background instead (a function's init then costs no round trip to
	// Postgres, and its first query finds the connection made or being
	// made). A wrong URL or an unreachable server then fails that query,
	// not Open.
	ConnectLater bool
	// AudienceCountBudget is how long an audience preview's exact count may
	// run before the preview estimates; DefaultAudienceCountBudget when 0.
	AudienceCountBudget time.Duration
	// Webhooks, when set, is asked for a delivery run of every webhook
	// endpoint that a committed change gave a delivery (nudge.go); without
	// it deliveries wait for the scheduler's relay.
	Webhooks webhook.Nudger
	// Logger reports nudges that failed; nothing is logged when nil.
	Logger *slog.Logger
	// BlockingSockets connects over TCP sockets in blocking mode, outside
	// Go's network poller (blocksock.Dial): a query's wait for its answer
	// is a receive that sleeps in the kernel until the answer comes (for
	// up to 12-16 ms, then a ppoll woken by the answer), not a parked
	// goroutine, an epoll_wait and a wake-up. A context's end still
	// interrupts a query (pgx sets the connection's deadline, which wakes
	// a ppoll at once and ends the first receive when it times out). Each
	// waiting query holds its thread, so it suits a function that runs one
	// query at a time.
	BlockingSockets bool
}

// PooledExecMode is how queries run through a transaction-mode pooler:
// each one is parsed as the unnamed statement and bound in the same round
// trip, with the result's description cached in the client by SQL text.
// Nothing outlives the statement on the server, so any server connection
// can run it. Every execution is parsed and planned again: about 3 times
// the Postgres CPU of a prepared statement on the status route's queries
// (BenchmarkExecModes, docs/postgres-at-scale.md). SimpleProtocol costs
// about as much on the server but interpolates arguments in the client and
// sends everything as text; Exec and DescribeExec cost more.
const PooledExecMode = pgx.QueryExecModeCacheDescribe

// Open connects to databaseURL and checks the connection.
func Open(ctx context.Context, databaseURL string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.Tracer != nil {
		cfg.ConnConfig.Tracer = opts.Tracer
	}
	if opts.Pooled {
		cfg.ConnConfig.DefaultQueryExecMode = PooledExecMode
	}
	if opts.BlockingSockets {
		cfg.ConnConfig.DialFunc = blocksock.Dial
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	if opts.ConnectLater {
		go warm(context.WithoutCancel(ctx), pool)
	} else if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping postgres at %s: %w", redactURL(databaseURL), err)
	}
	queries, err := loadQueries(queryFiles)
	if err != nil {
		pool.Close()
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	budget := opts.AudienceCountBudget
	if budget <= 0 {
		budget = DefaultAudienceCountBudget
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &DB{Pool: pool, queries: queries, now: now, audienceCountBudget: budget, webhooks: opts.Webhooks, logger: logger}, nil
}

// warmTimeout bounds the background connection of Options.ConnectLater.
const warmTimeout = 10 * time.Second

// warm opens the pool's first connection and leaves it idle in the pool; a
// failure is left for the first query to meet again.
func warm(ctx context.Context, pool *pgxpool.Pool) {
	ctx, cancel := context.WithTimeout(ctx, warmTimeout)
	defer cancel()
	if c, err := pool.Acquire(ctx); err == nil {
		c.Release()
	}
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// Ping checks that PostgreSQL answers.
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

// q returns the named query; a missing name is a programming error caught by
// the package's tests.
func (db *DB) q(name string) string {
	s, ok := db.queries[name]
	if !ok {
		panic("postgres: no query named " + name)
	}
	return s
}

// loadQueries reads every "-- name: x" section of the embedded .sql files.
// Every function runs it at start-up: each query is a slice of its file's
// text, with no copy per line.
func loadQueries(fsys fs.FS) (map[string]string, error) {
	files, err := fs.Glob(fsys, "queries/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list query files: %w", err)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		if err := splitQueries(f, string(b), out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// splitQueries adds the sections of file's text to out: a section is named
// by a "-- name: x" line and runs to the next such line or the end, with
// surrounding space trimmed. Text before the first name is not a query.
func splitQueries(file, text string, out map[string]string) error {
	var name string
	start := 0
	flush := func(end int) error {
		if name == "" {
			return nil
		}
		if _, dup := out[name]; dup {
			return fmt.Errorf("%s: query %q defined twice", file, name)
		}
		out[name] = strings.TrimSpace(text[start:end])
		return nil
	}
	for i := 0; i < len(text); {
		next := len(text)
		if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
			next = i + j + 1
		}
		if n, ok := strings.CutPrefix(strings.TrimSpace(text[i:next]), "-- name:"); ok {
			if err := flush(i); err != nil {
				return err
			}
			name, start = strings.TrimSpace(n), next
		}
		i = next
	}
	return flush(len(text))
}

// notFound turns pgx.ErrNoRows into a NOT_FOUND error naming what was sought.
func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errcode.New(errcode.NotFound, "%s not found", what)
	}
	return err
}

// isUniqueViolation reports whether err is a unique constraint violation,
// optionally of the named constraint or index.
func isUniqueViolation(err error, constraint string) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505" && (constraint == "" || pg.ConstraintName == constraint)
}

// redactURL hides the password of a connection URL for error messages.
func redactURL(raw string) string {
	cfg, err := pgconn.ParseConfig(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
}

func isForeignKeyViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23503"
}
