-- +goose Up
-- Replies (docs/replies-and-webhooks.md): an incoming message from a phone
-- that a campaign of the instance messaged in the 72 hours before it is a
-- reply, credited to the latest such campaign.

ALTER TABLE campaign_recipients
    -- The recipient's first reply: when, and its first 500 characters.
    ADD COLUMN replied_at timestamptz,
    ADD COLUMN reply      text;

-- Finding the campaign a reply answers: the sends to a phone, newest first.
CREATE INDEX campaign_recipients_phone_sent_idx ON campaign_recipients (phone, sent_at DESC)
    WHERE sent_at IS NOT NULL;

-- Every reply message, as the campaign's replies list shows them. phone is
-- the recipient's (the form the campaign used), whatever form WhatsApp
-- reported; text is cut at 4,096 characters.
CREATE TABLE replies (
    id          uuid PRIMARY KEY DEFAULT uuid_v7(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    instance_id uuid NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    phone       text NOT NULL,
    text        text NOT NULL,
    -- WhatsApp's message id: a message posted twice is one reply.
    message_id  text,
    received_at timestamptz NOT NULL
);
CREATE INDEX replies_campaign_page_idx ON replies (tenant_id, campaign_id, id);
CREATE UNIQUE INDEX replies_message_idx ON replies (instance_id, message_id) WHERE message_id IS NOT NULL;

-- +goose Down
DROP TABLE replies;
DROP INDEX campaign_recipients_phone_sent_idx;
ALTER TABLE campaign_recipients
    DROP COLUMN reply,
    DROP COLUMN replied_at;
