-- +goose Up
-- Receipt batches of one instance arrive concurrently (WuzAPI posts each
-- receipt on its own; the scheduler replays stored events): apply_receipt
-- locks the recipients it updates in one order, so two batches naming the
-- same messages wait for each other instead of deadlocking.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION apply_receipt(p_instance uuid, p_ids text[], p_state text, p_at timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    matched text[];
BEGIN
    IF p_state NOT IN ('delivered', 'read') THEN
        RAISE EXCEPTION 'apply_receipt: unknown state %', p_state;
    END IF;
    -- Lock the recipients in one order (by message id, unique and never
    -- changed once set) before updating them: the update alone locks them in
    -- its scan's order, which differs between two calls once one of them has
    -- moved rows, so two batches naming the same messages could deadlock.
    PERFORM 1 FROM campaign_recipients cr
    WHERE cr.wuzapi_message_id = ANY (p_ids)
    ORDER BY cr.wuzapi_message_id
    FOR UPDATE;
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
