-- +goose Up
-- A receipt belongs to the instance that sent the message. In a pool campaign
-- that is the recipient's own instance (written when it is claimed), not the
-- campaign's first one, so receipts match on the recipient's instance and
-- fall back to the campaign's for recipients sent before pools existed.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION apply_receipt(p_instance uuid, p_ids text[], p_state text, p_at timestamptz)
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
          AND COALESCE(cr.instance_id, c.instance_id) = p_instance
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

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION apply_pending_receipts(p_ids text[])
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
          AND COALESCE(cr.instance_id, c.instance_id) = p.instance_id
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
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION apply_receipt(p_instance uuid, p_ids text[], p_state text, p_at timestamptz)
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

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION apply_pending_receipts(p_ids text[])
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
