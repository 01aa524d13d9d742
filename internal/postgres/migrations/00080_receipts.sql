-- +goose Up
-- Delivery receipts, opt-outs and instance blocks (docs/reports-and-receipts.md).

-- Why an instance must not send: 'logged_out' or 'temporary_ban', set from a
-- WuzAPI LoggedOut / TemporaryBan webhook event; NULL = free to send. The
-- campaign worker reads it before claiming (and the scheduler's session check
-- or a Connected / PairSuccess event clears it).
ALTER TABLE instances
    ADD COLUMN blocked_reason   text CHECK (blocked_reason IN ('logged_out', 'temporary_ban')),
    ADD COLUMN blocked_at       timestamptz,
    -- Until when a temporary ban lasts, when WuzAPI said (TemporaryBan.Expire).
    ADD COLUMN blocked_until    timestamptz,
    -- WuzAPI's HMAC key for this instance's webhooks (X-Hmac-Signature); NULL = not signed.
    ADD COLUMN webhook_hmac_key text;

-- Every webhook event, stored before the webhook is answered: WuzAPI posts
-- once (older servers) or retries (newer ones), so nothing is lost if applying
-- it fails; the scheduler applies what is still unprocessed. A retried post
-- has the same body and is stored once.
CREATE TABLE wuzapi_events (
    id           uuid PRIMARY KEY DEFAULT uuid_v7(),
    instance_id  uuid NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type         text NOT NULL,
    payload      jsonb NOT NULL,
    body_sha256  bytea NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    error        text,
    UNIQUE (instance_id, body_sha256)
);
CREATE INDEX wuzapi_events_unprocessed_idx ON wuzapi_events (received_at) WHERE processed_at IS NULL;
CREATE INDEX wuzapi_events_received_idx ON wuzapi_events (received_at);

-- Receipts whose message id no recipient carries yet (the receipt overtook
-- the send being recorded). apply_pending_receipts moves them onto the
-- recipient once it does. Scoped by instance: a receipt only ever touches a
-- recipient of a campaign sent through the instance that reported it.
CREATE TABLE pending_receipts (
    instance_id uuid NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    message_id  text NOT NULL,
    state       text NOT NULL CHECK (state IN ('delivered', 'read')),
    at          timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, message_id, state)
);
CREATE INDEX pending_receipts_message_idx ON pending_receipts (message_id);
CREATE INDEX pending_receipts_received_idx ON pending_receipts (received_at);

-- apply_receipt records that the messages p_ids sent through p_instance were
-- delivered (p_state 'delivered') or read ('read') at p_at, and returns how
-- many recipients matched. Ids no recipient carries are kept in
-- pending_receipts. It is idempotent and order-free: timestamps keep the
-- earliest report (LEAST ignores NULL), a read also sets delivered_at, and a
-- status only moves forward: sent/unknown -> delivered -> read. Recipients in
-- another status (sending: the send is still being recorded; pending or
-- failed: a retry is due) get the timestamps only; the campaign worker derives
-- their status from them when it records the send.
-- +goose StatementBegin
CREATE FUNCTION apply_receipt(p_instance uuid, p_ids text[], p_state text, p_at timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    matched text[];
BEGIN
    IF p_state NOT IN ('delivered', 'read') THEN
        RAISE EXCEPTION 'apply_receipt: unknown state %', p_state;
    END IF;
    WITH u AS (
        UPDATE campaign_recipients cr SET
            delivered_at = LEAST(cr.delivered_at, p_at),
            read_at      = CASE WHEN p_state = 'read' THEN LEAST(cr.read_at, p_at) ELSE cr.read_at END,
            sent_at      = CASE WHEN cr.status = 'unknown' THEN LEAST(cr.sent_at, p_at) ELSE cr.sent_at END,
            status       = CASE
                WHEN cr.status IN ('sent', 'delivered', 'read', 'unknown') THEN
                    CASE WHEN p_state = 'read' OR cr.status = 'read' OR cr.read_at IS NOT NULL THEN 'read' ELSE 'delivered' END
                ELSE cr.status END
        FROM campaigns c
        WHERE cr.wuzapi_message_id = ANY (p_ids)
          AND c.id = cr.campaign_id
          AND c.instance_id = p_instance
        RETURNING cr.wuzapi_message_id
    )
    SELECT coalesce(array_agg(wuzapi_message_id), '{}') INTO matched FROM u;

    INSERT INTO pending_receipts (instance_id, message_id, state, at)
    SELECT DISTINCT p_instance, id, p_state, p_at
    FROM unnest(p_ids) AS id
    WHERE id <> '' AND NOT (id = ANY (matched))
    ON CONFLICT (instance_id, message_id, state) DO UPDATE SET at = LEAST(pending_receipts.at, EXCLUDED.at);

    RETURN coalesce(array_length(matched, 1), 0);
END
$$;
-- +goose StatementEnd

-- apply_pending_receipts applies the kept receipts of the message ids p_ids
-- (all of them when NULL) that a recipient now carries, removes them, and
-- returns how many it applied. The campaign worker calls it right after it
-- writes wuzapi_message_id; the scheduler sweeps with NULL every minute to
-- close the race of a receipt kept while the id was being written.
-- +goose StatementBegin
CREATE FUNCTION apply_pending_receipts(p_ids text[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    FOR r IN
        DELETE FROM pending_receipts p
        USING campaign_recipients cr, campaigns c
        WHERE cr.wuzapi_message_id = p.message_id
          AND c.id = cr.campaign_id
          AND c.instance_id = p.instance_id
          AND (p_ids IS NULL OR p.message_id = ANY (p_ids))
        RETURNING p.instance_id, p.message_id, p.state, p.at
    LOOP
        n := n + apply_receipt(r.instance_id, ARRAY[r.message_id], r.state, r.at);
    END LOOP;
    RETURN n;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION apply_pending_receipts(text[]);
DROP FUNCTION apply_receipt(uuid, text[], text, timestamptz);
DROP TABLE pending_receipts;
DROP TABLE wuzapi_events;
ALTER TABLE instances
    DROP COLUMN webhook_hmac_key,
    DROP COLUMN blocked_until,
    DROP COLUMN blocked_at,
    DROP COLUMN blocked_reason;
