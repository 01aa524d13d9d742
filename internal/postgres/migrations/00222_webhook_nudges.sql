-- +goose Up
-- emit_webhook_event also notes, in the transaction-local setting
-- wm.webhook_endpoints, every endpoint it gave a delivery (ids, each
-- followed by a comma, once each), so the writer can read them before it
-- commits and ask for those endpoints' delivery runs once it has. The
-- setting is rolled back with the transaction or savepoint that made the
-- event, and it stops growing at about 100 endpoints (the scheduler's relay
-- serves the rest).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION emit_webhook_event(p_tenant uuid, p_type text, p_key text, p_at timestamptz, p_data jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ev uuid;
    ep uuid;
    noted text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE tenant_id = p_tenant AND p_type = ANY (events)) THEN
        RETURN;
    END IF;
    INSERT INTO webhook_events (tenant_id, type, key, payload)
    VALUES (p_tenant, p_type, p_key, jsonb_build_object(
        'type', p_type,
        'timestamp', to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'data', p_data))
    ON CONFLICT (tenant_id, key) DO NOTHING
    RETURNING id INTO ev;
    IF ev IS NULL THEN
        RETURN;
    END IF;
    noted := coalesce(current_setting('wm.webhook_endpoints', true), '');
    FOR ep IN
        INSERT INTO webhook_deliveries (endpoint_id, event_id)
        SELECT id, ev FROM webhook_endpoints WHERE tenant_id = p_tenant AND p_type = ANY (events)
        RETURNING endpoint_id
    LOOP
        IF strpos(noted, ep::text) = 0 AND length(noted) < 3700 THEN
            noted := noted || ep::text || ',';
        END IF;
    END LOOP;
    PERFORM set_config('wm.webhook_endpoints', noted, true);
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION emit_webhook_event(p_tenant uuid, p_type text, p_key text, p_at timestamptz, p_data jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ev uuid;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE tenant_id = p_tenant AND p_type = ANY (events)) THEN
        RETURN;
    END IF;
    INSERT INTO webhook_events (tenant_id, type, key, payload)
    VALUES (p_tenant, p_type, p_key, jsonb_build_object(
        'type', p_type,
        'timestamp', to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'data', p_data))
    ON CONFLICT (tenant_id, key) DO NOTHING
    RETURNING id INTO ev;
    IF ev IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO webhook_deliveries (endpoint_id, event_id)
    SELECT id, ev FROM webhook_endpoints WHERE tenant_id = p_tenant AND p_type = ANY (events);
END $$;
-- +goose StatementEnd
