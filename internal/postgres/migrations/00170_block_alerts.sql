-- +goose Up
-- The block (its blocked_at) the scheduler raised its critical alert for:
-- a ban or logout from WuzAPI's webhook alerts once, whichever scheduler
-- sees it, and a later block of the same instance (a new blocked_at)
-- alerts again.
ALTER TABLE instances ADD COLUMN block_alerted_at timestamptz;
-- The blocks still to alert: few rows, read every minute.
CREATE INDEX instances_block_unalerted_idx ON instances (blocked_at)
    WHERE blocked_reason IS NOT NULL AND block_alerted_at IS DISTINCT FROM blocked_at;

-- +goose Down
DROP INDEX instances_block_unalerted_idx;
ALTER TABLE instances DROP COLUMN block_alerted_at;
