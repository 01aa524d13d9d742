-- +goose Up
-- Campaign delivery bookkeeping.

-- A resend bumps the generation, which is part of the WuzAPI message id, so a
-- re-sent message has a new id and the old id's late receipts find nothing.
ALTER TABLE campaign_recipients ADD COLUMN generation integer NOT NULL DEFAULT 0;

-- enqueued_at: when the campaign's chunks were last handed to the queue
-- (NULL = never: the enqueue after commit failed, the scheduler requeues).
-- progressed_at: when a worker last took one of its chunks (stall detection).
-- create_response: the 202 body, replayed for a repeated Idempotency-Key.
ALTER TABLE campaigns
    ADD COLUMN enqueued_at     timestamptz,
    ADD COLUMN progressed_at   timestamptz,
    ADD COLUMN create_response jsonb;
-- The scheduler's scan for campaigns that should be moving.
CREATE INDEX campaigns_active_idx ON campaigns (status) WHERE status IN ('queued', 'running');

-- Things that happened to a campaign that someone should hear about
-- (auto-pause, failure); the alerting job picks up unhandled rows.
CREATE TABLE campaign_events (
    id          uuid PRIMARY KEY DEFAULT uuid_v7(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    type        text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    handled_at  timestamptz
);
CREATE INDEX campaign_events_unhandled_idx ON campaign_events (created_at) WHERE handled_at IS NULL;

-- +goose Down
DROP TABLE campaign_events;
DROP INDEX campaigns_active_idx;
ALTER TABLE campaigns DROP COLUMN enqueued_at, DROP COLUMN progressed_at, DROP COLUMN create_response;
ALTER TABLE campaign_recipients DROP COLUMN generation;
