-- +goose Up
-- A send's mark leaves its recipient sent without a delivery receipt, so it
-- wrote an entry to the index of such recipients by campaign, on every send.
-- Nothing reads it: the status route counts a campaign's undelivered in its
-- one pass over the campaign's recipients (campaign-status, by the position
-- index), and campaign-undelivered reads the same rows by campaign.
DROP INDEX campaign_recipients_undelivered_idx;

-- +goose Down
CREATE INDEX campaign_recipients_undelivered_idx ON campaign_recipients (campaign_id, sent_at)
    WHERE status = 'sent' AND delivered_at IS NULL;
