-- +goose Up
-- Report progress: the row count expected when the worker starts,
-- so GET /v1/reports/{id} can show progress, and the object's size.
ALTER TABLE reports
    ADD COLUMN rows_expected bigint,
    ADD COLUMN object_bytes  bigint,
    ADD COLUMN attempts      integer NOT NULL DEFAULT 0;
-- The undelivered count of a campaign's status scans sent recipients without
-- a delivery receipt.
CREATE INDEX campaign_recipients_undelivered_idx ON campaign_recipients (campaign_id, sent_at)
    WHERE status = 'sent' AND delivered_at IS NULL;

-- +goose Down
DROP INDEX campaign_recipients_undelivered_idx;
ALTER TABLE reports
    DROP COLUMN attempts,
    DROP COLUMN object_bytes,
    DROP COLUMN rows_expected;
