package postgres_test

import (
	"context"
	"iter"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// TestClaimScanAsPgx: a claim's row (the claim's column types) reads the
// same through the claim's own scan as through pgx's scan plans, in every
// query mode (the pooler's too, and the simple protocol's text format),
// including its errors (a NULL where the claim has none).
func TestClaimScanAsPgx(t *testing.T) {
	t.Parallel()
	const row = `SELECT $1::text, $2::text, $3::jsonb, $4::int4, $5::int4, $6::text, $7::bool, $8::text, $9::int4`
	rows := map[string][]any{
		"usual":         {"5511999990001", "Maria", `{}`, 1, 0, "3EB0AABBCCDDEEFF001122", true, "5511999990001", 17},
		"known":         {"5511999990001", "", `{}`, 3, 2, "3EB0X", false, "551199990001", 0},
		"vars":          {"5511999990001", "José", `{"city":"São Paulo","n":1.5,"big":12345678901234567890,"t":true,"z":null,"o":{"x":[1,"a"]}}`, 1, 0, "id", true, "p", 2147483647},
		"escapes":       {"p", "n\u2028\"q\"", `{"a\"b":"\u00e9\n\u2028<&>","":""}`, -2147483648, -1, "id", false, "p", 5},
		"null vars":     {"p", "n", `null`, 1, 0, "id", true, "p", 5},
		"NULL name":     {"p", nil, `{}`, 1, 0, "id", true, "p", 5},
		"NULL vars":     {"p", "n", nil, 1, 0, "id", true, "p", 5},
		"NULL new":      {"p", "n", `{}`, 1, 0, "id", nil, "p", 5},
		"NULL seq":      {"p", "n", `{}`, 1, 0, "id", true, "p", nil},
		"NULL message":  {"p", "n", `{}`, 1, 0, nil, true, "p", 5},
		"array as vars": {"p", "n", `[1,2]`, 1, 0, "id", true, "p", 5},
	}
	ctx := context.Background()
	for mode, conn := range execModeConns(t) {
		for name, args := range rows {
			got, gerr := postgres.ScanClaimed(conn.QueryRow(ctx, row, args...))
			want, werr := postgres.ScanClaimedByPgx(conn.QueryRow(ctx, row, args...))
			if (gerr == nil) != (werr == nil) || (gerr == nil && !reflect.DeepEqual(got, want)) {
				t.Errorf("%v, %s: claim's scan %+v (%v), pgx's %+v (%v)", mode, name, got, gerr, want, werr)
			}
		}
	}
}

// BenchmarkClaimScan: a claim's usual row (vars {}) read by the claim's
// scan and by pgx's scan plans, the query's round trip included.
func BenchmarkClaimScan(b *testing.B) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.ServerURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close(ctx) })
	const row = `SELECT $1::text, $2::text, $3::jsonb, $4::int4, $5::int4, $6::text, $7::bool, $8::text, $9::int4`
	args := []any{"5511999990001", "Maria", `{}`, 1, 0, "3EB0AABBCCDDEEFF001122", true, "5511999990001", 17}
	for _, s := range []struct {
		name string
		scan func(pgx.Row) error
	}{
		{"claim", func(r pgx.Row) error { _, err := postgres.ScanClaimed(r); return err }},
		{"pgx", func(r pgx.Row) error { _, err := postgres.ScanClaimedByPgx(r); return err }},
	} {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := s.scan(conn.QueryRow(ctx, row, args...)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// execModeConns yields a connection of its own in each of pgx's query exec
// modes (the pooler's among them), closed when the test ends.
func execModeConns(t *testing.T) iter.Seq2[pgx.QueryExecMode, *pgx.Conn] {
	return func(yield func(pgx.QueryExecMode, *pgx.Conn) bool) {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, postgres.PooledExecMode,
			pgx.QueryExecModeDescribeExec, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol} {
			cfg, err := pgx.ParseConfig(pgtest.ServerURL())
			if err != nil {
				t.Fatal(err)
			}
			cfg.DefaultQueryExecMode = mode
			conn, err := pgx.ConnectConfig(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = conn.Close(context.Background()) })
			if !yield(mode, conn) {
				return
			}
		}
	}
}
