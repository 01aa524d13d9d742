package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/audience"
	"github.com/wuzapi-manager/wuzapi-manager/internal/campaign"
	"github.com/wuzapi-manager/wuzapi-manager/internal/importer"
)

// MergeContactsInTx is mergeContacts for tests in package postgres_test.
func (db *DB) MergeContactsInTx(ctx context.Context, tx pgx.Tx, tenantID string, contacts []importer.Contact) (int, int, error) {
	inserted, updated, _, err := db.mergeContacts(ctx, tx, tenantID, nil, contacts, false)
	return inserted, updated, err
}

// AudienceFilter is compileFilter's WHERE clause over contacts c and its
// arguments, for tests in package postgres_test.
func AudienceFilter(tenantID string, a audience.Audience) (string, []any) {
	q := compileFilter(tenantID, a)
	return q.clause(), q.args
}

// QueryText is the text of the named query, for tests in package
// postgres_test that look at its plan.
func (db *DB) QueryText(name string) string { return db.q(name) }

// ScanClaimed reads a claim's row as the claim does, and as pgx's own
// scan of the same columns did (for tests in package postgres_test).
func ScanClaimed(r pgx.Row) (campaign.Claimed, error) {
	var c campaign.Claimed
	return c, r.Scan(claimScan{&c})
}

// ScanClaimedByPgx reads a claim's row with pgx's scan plans.
func ScanClaimedByPgx(r pgx.Row) (campaign.Claimed, error) {
	var c campaign.Claimed
	var vars map[string]any
	err := r.Scan(&c.Phone, &c.Name, &vars, &c.Attempts, &c.Generation, &c.MessageID, &c.New, &c.SendPhone, &c.Seq)
	c.Vars = varsToStrings(vars)
	return c, err
}

// InsertNewInTx is insertNew (the COPY of new contacts) for tests in
// package postgres_test.
func (db *DB) InsertNewInTx(ctx context.Context, tx pgx.Tx, tenantID string, importID *string, contacts []importer.Contact) (bool, error) {
	return db.insertNew(ctx, tx, tenantID, importID, contacts)
}

// StatusRow is campaign-status's row as CampaignStatus reads it.
type StatusRow = statusRow

// ReadStatusRow reads the current row as CampaignStatus does without pgx's
// scan plans; ok is false where CampaignStatus falls back to them.
func ReadStatusRow(rows pgx.Rows, id string) (st StatusRow, ok bool) {
	ok = st.read(rows.FieldDescriptions(), rows.RawValues(), id)
	return st, ok
}

// ScanStatusRowByPgx reads the current row with pgx's scan plans.
func ScanStatusRowByPgx(rows pgx.Rows) (StatusRow, error) { return scanStatusRow(rows) }
