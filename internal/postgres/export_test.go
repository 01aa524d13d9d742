package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/audience"
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
