-- +goose Up
-- An instance's recent sends, newest first, whatever the contact: the
-- health answer's delivery rate (last 50 sends older than 15 minutes) and
-- the per-instance counts of a pool campaign read them through this index.
CREATE INDEX campaign_recipients_instance_sent_idx ON campaign_recipients (instance_id, sent_at DESC)
    WHERE sent_at IS NOT NULL;

-- +goose Down
DROP INDEX campaign_recipients_instance_sent_idx;
