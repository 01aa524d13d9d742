-- +goose Up
-- A bulk claim (claim-recipients) writes its batch's token into the rows it
-- claims (not indexed: the claim's update stays a HOT one) and keeps the
-- batch's progress in claim_batches: up to which seq its sends may have
-- started. The worker advances it before each queued send (claim-progress),
-- in the same statement that reads whether the campaign still runs. After a
-- crash, mark-stuck-unknown puts a batch's recipients after its progress
-- back to pending (their sends never started) and makes the rest unknown;
-- a batch without a progress row (the table is unlogged: a Postgres restart
-- empties it) is unknown whole, never sent twice.
ALTER TABLE campaign_recipients ADD COLUMN claim_batch bigint;

CREATE UNLOGGED TABLE claim_batches (
    batch bigint PRIMARY KEY,
    started_upto integer NOT NULL,
    claimed_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE claim_batches;
ALTER TABLE campaign_recipients DROP COLUMN claim_batch;
