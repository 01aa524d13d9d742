-- +goose Up
-- A recipient's update changes its status (the claim to sending, the mark
-- to sent), so it is never HOT: each one writes an entry to every index
-- whose predicate the new row meets. The (campaign_id, status) index took
-- one on every claim and every mark. In its place:
--  * pending recipients by position: the claim, the chunk's state and every
--    "is anything left" check read these; a recipient enters it when the
--    campaign is created (or a resend or retry puts it back) and a claim
--    writes nothing to it;
--  * the settled outcomes a campaign's list filters on (delivered, read,
--    failed, skipped, unknown): a receipt or a failure writes it, a send's
--    mark to sent does not (a list of the sent reads the campaign's rows in
--    order, most of which are sent);
--  * the in-flight recipients by campaign: the claim writes it as the
--    (claimed_at) index before it did; the finish's check for a campaign's
--    and the stuck-send sweep read it.
-- A query that means one of these states names it with = so the planner
-- can prove the predicate (finish-settled asks pending and sending apart).
DROP INDEX campaign_recipients_status_idx;
CREATE INDEX campaign_recipients_pending_idx ON campaign_recipients (campaign_id, seq)
    WHERE status = 'pending';
CREATE INDEX campaign_recipients_settled_idx ON campaign_recipients (campaign_id, status, seq)
    WHERE status NOT IN ('pending', 'sending', 'sent');
DROP INDEX campaign_recipients_sending_idx;
CREATE INDEX campaign_recipients_sending_idx ON campaign_recipients (campaign_id, claimed_at)
    WHERE status = 'sending';

-- +goose Down
DROP INDEX campaign_recipients_sending_idx;
CREATE INDEX campaign_recipients_sending_idx ON campaign_recipients (claimed_at) WHERE status = 'sending';
DROP INDEX campaign_recipients_settled_idx;
DROP INDEX campaign_recipients_pending_idx;
CREATE INDEX campaign_recipients_status_idx ON campaign_recipients (campaign_id, status);
