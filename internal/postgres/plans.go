package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/wuzapi-manager/wuzapi-manager/internal/errcode"
)

// withinPlan fails with PLAN_LIMIT, its detail naming limit, when the
// tenant already holds max of what count counts. It takes a transaction
// lock of the tenant and limit first, held until tx ends, so the count
// stays true until the insert commits. max <= 0 is no cap.
func (db *DB) withinPlan(ctx context.Context, tx pgx.Tx, tenantID, limit, count string, max int) error {
	if max <= 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, db.q("plan-lock"), limit+":"+tenantID); err != nil {
		return fmt.Errorf("lock %s of tenant %s: %w", limit, tenantID, err)
	}
	var n int
	if err := tx.QueryRow(ctx, db.q(count), tenantID).Scan(&n); err != nil {
		return fmt.Errorf("count %s of tenant %s: %w", limit, tenantID, err)
	}
	if n >= max {
		return &errcode.Error{Code: errcode.PlanLimit,
			Message: fmt.Sprintf("the plan allows %d %s; upgrade the plan or close some first", max, limit),
			Details: []errcode.Detail{{Field: limit, Code: "plan_limit", Message: fmt.Sprintf("at most %d %s on this plan", max, limit)}}}
	}
	return nil
}
