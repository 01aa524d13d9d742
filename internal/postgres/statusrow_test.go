package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/pgtest"
	"github.com/wuzapi-manager/wuzapi-manager/internal/postgres"
)

// TestStatusRowAsPgx: campaign-status's row (its column types) reads the
// same through CampaignStatus's own reading of the raw values as through
// pgx's scan plans, in every query mode (the simple protocol's text format
// too); a row it cannot read (a NULL, another type) it leaves to pgx's.
func TestStatusRowAsPgx(t *testing.T) {
	t.Parallel()
	const id = "0b7c5b0e-1c1a-4f5e-9d7a-0a8e7f9b2c11"
	const row = `SELECT $1::text, $2::text, $3::bigint, $4::bigint, $5::bigint, $6::bigint, $7::bigint, $8::bigint,
		$9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::bigint`
	const other = `SELECT $1::text, $2::text, $3::int4, $4::bigint, $5::bigint, $6::bigint, $7::bigint, $8::bigint,
		$9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::bigint`
	tests := []struct {
		name, query string
		args        []any
		readable    bool
	}{
		{"usual", row, []any{id, "running", 200, 150, 1, 30, 5, 4, 10, 0, 0, 2, 1}, true},
		{"every state", row, []any{id, "scheduled", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true},
		{"extremes", row, []any{id, "cancelled", int64(1) << 62, -1, -9223372036854775808, 9223372036854775807, 7, 8, 9, 10, 11, 12, 13}, true},
		{"another id", row, []any{"another", "paused", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, true},
		{"a state no campaign has", row, []any{id, "unheard-of", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, true},
		{"empty strings", row, []any{"", "", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, true},
		{"NULL count", row, []any{id, "running", 1, 2, nil, 4, 5, 6, 7, 8, 9, 10, 11}, false},
		{"NULL state", row, []any{id, nil, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, false},
		{"int4 total", other, []any{id, "running", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, false},
	}
	ctx := context.Background()
	for mode, conn := range execModeConns(t) {
		read := func(query string, args []any, f func(pgx.Rows) (string, error)) string {
			rows, err := conn.Query(ctx, query, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			if !rows.Next() {
				t.Fatalf("no row: %v", rows.Err())
			}
			out, err := f(rows)
			if err != nil {
				return "error"
			}
			return out
		}
		for _, tt := range tests {
			var ok bool
			got := read(tt.query, tt.args, func(rows pgx.Rows) (string, error) {
				st, readable := postgres.ReadStatusRow(rows, id)
				ok = readable
				return fmt.Sprintf("%+v", st), nil
			})
			want := read(tt.query, tt.args, func(rows pgx.Rows) (string, error) {
				st, err := postgres.ScanStatusRowByPgx(rows)
				return fmt.Sprintf("%+v", st), err
			})
			if ok != tt.readable || ok && got != want {
				t.Errorf("%v, %s: read %s (ok %v), pgx's scan %s; want ok %v", mode, tt.name, got, ok, want, tt.readable)
			}
		}
	}
}

// TestCampaignStatusAllocations bounds what the status statement allocates
// in the client: its row read from the raw values (no scan plans, the id
// asked for and the state's constant reused), 15 allocations through pgx's
// scan.
func TestCampaignStatusAllocations(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	f := newCampaign(t, db, "sent", "delivered", "pending")
	noon := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var c campaign.Campaign
	allocs := testing.AllocsPerRun(200, func() {
		var err error
		if c, _, err = db.CampaignStatus(ctx, f.tenantID, f.campaignID, noon); err != nil {
			t.Fatal(err)
		}
	})
	if c.ID != f.campaignID || c.Counts.Total != 3 {
		t.Fatalf("status = %+v", c)
	}
	t.Logf("%.0f allocations", allocs)
	if allocs > 7 {
		t.Errorf("CampaignStatus: %.0f allocations, want at most 7", allocs)
	}
}
