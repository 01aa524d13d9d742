-- +goose Up
-- Tenant webhooks (docs/replies-and-webhooks.md): endpoints a tenant
-- registers, and an outbox of events and their deliveries. Events are
-- written by triggers in the transaction of the change that causes them, so
-- an event exists exactly when its change committed; the scheduler function
-- delivers them from the webhooks queue.

CREATE TABLE webhook_endpoints (
    id          uuid PRIMARY KEY DEFAULT uuid_v7(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url         text NOT NULL,
    description text NOT NULL DEFAULT '',
    events      text[] NOT NULL,
    -- whsec_ + base64 of 32 random bytes: the plain key signs every
    -- delivery, so it is kept; the API shows it once, at creation.
    secret      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id, id);

-- One row per event of a tenant that had an endpoint subscribed to its
-- type when it happened. key names the event (e.g. message.delivered of one
-- recipient's send): an event is recorded once, so it is never delivered
-- twice under two ids. payload is the body every delivery posts.
CREATE TABLE webhook_events (
    id         uuid PRIMARY KEY DEFAULT uuid_v7(),
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type       text NOT NULL,
    key        text NOT NULL,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, key)
);
CREATE INDEX webhook_events_created_idx ON webhook_events (created_at);

-- An event for one endpoint: pending until a 2xx answer (delivered) or the
-- last retry (failed). leased_until keeps two consumers from posting the
-- same delivery at once; a consumer that dies leaves it to the next one.
CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY DEFAULT uuid_v7(),
    endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    leased_until    timestamptz,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_page_idx ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

-- emit_webhook_event records an event for the tenant's endpoints subscribed
-- to its type, with one delivery each; nothing when none is, or when the
-- key was recorded before.
-- +goose StatementBegin
CREATE FUNCTION emit_webhook_event(p_tenant uuid, p_type text, p_key text, p_at timestamptz, p_data jsonb)
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

-- Sends, receipts and failures of campaign recipients. The key carries the
-- generation: a re-sent recipient is a new message.
-- +goose StatementBegin
CREATE FUNCTION webhook_recipient_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
    i uuid;
    base text := NEW.campaign_id::text || ':' || NEW.phone || ':' || NEW.generation::text;
    d jsonb;
BEGIN
    SELECT tenant_id, instance_id INTO t, i FROM campaigns WHERE id = NEW.campaign_id;
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE tenant_id = t) THEN
        RETURN NULL;
    END IF;
    d := jsonb_build_object('campaignId', NEW.campaign_id, 'instanceId', COALESCE(NEW.instance_id, i),
        'phone', NEW.phone, 'contactId', NEW.contact_id, 'messageId', NEW.wuzapi_message_id, 'status', NEW.status);
    IF OLD.sent_at IS NULL AND NEW.sent_at IS NOT NULL THEN
        PERFORM emit_webhook_event(t, 'message.sent', 'message.sent:' || base, NEW.sent_at, d || jsonb_build_object('at', NEW.sent_at));
    END IF;
    IF OLD.delivered_at IS NULL AND NEW.delivered_at IS NOT NULL THEN
        PERFORM emit_webhook_event(t, 'message.delivered', 'message.delivered:' || base, NEW.delivered_at,
            d || jsonb_build_object('at', NEW.delivered_at));
    END IF;
    IF OLD.read_at IS NULL AND NEW.read_at IS NOT NULL THEN
        PERFORM emit_webhook_event(t, 'message.read', 'message.read:' || base, NEW.read_at, d || jsonb_build_object('at', NEW.read_at));
    END IF;
    IF NEW.status = 'failed' AND OLD.status IS DISTINCT FROM 'failed' THEN
        PERFORM emit_webhook_event(t, 'message.failed', 'message.failed:' || base, COALESCE(NEW.failed_at, now()),
            d || jsonb_build_object('at', COALESCE(NEW.failed_at, now()), 'error', NEW.last_error));
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER webhook_recipient_events AFTER UPDATE ON campaign_recipients FOR EACH ROW
    WHEN ((OLD.sent_at IS NULL AND NEW.sent_at IS NOT NULL)
       OR (OLD.delivered_at IS NULL AND NEW.delivered_at IS NOT NULL)
       OR (OLD.read_at IS NULL AND NEW.read_at IS NOT NULL)
       OR (NEW.status = 'failed' AND OLD.status IS DISTINCT FROM 'failed'))
    EXECUTE FUNCTION webhook_recipient_events();

-- +goose StatementBegin
CREATE FUNCTION webhook_reply_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM emit_webhook_event(NEW.tenant_id, 'message.replied', 'message.replied:' || NEW.id::text, NEW.received_at,
        jsonb_build_object('campaignId', NEW.campaign_id, 'instanceId', NEW.instance_id, 'phone', NEW.phone,
            'replyId', NEW.id, 'text', NEW.text, 'at', NEW.received_at));
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER webhook_reply_events AFTER INSERT ON replies FOR EACH ROW EXECUTE FUNCTION webhook_reply_events();

-- An opt-out is kept per tenant and phone for good: one event each.
-- +goose StatementBegin
CREATE FUNCTION webhook_opt_out_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM emit_webhook_event(NEW.tenant_id, 'contact.opted_out', 'contact.opted_out:' || NEW.phone, NEW.opted_out_at,
        jsonb_build_object('phone', NEW.phone, 'at', NEW.opted_out_at));
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER webhook_opt_out_events AFTER INSERT ON opt_outs FOR EACH ROW EXECUTE FUNCTION webhook_opt_out_events();

-- A campaign completes once; it may pause many times (each pause is an event).
-- +goose StatementBegin
CREATE FUNCTION webhook_campaign_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    counts jsonb;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE tenant_id = NEW.tenant_id) THEN
        RETURN NULL;
    END IF;
    IF NEW.status = 'completed' THEN
        SELECT jsonb_build_object('total', count(*) FILTER (WHERE status <> 'skipped'),
            'sent', count(*) FILTER (WHERE status IN ('sent', 'delivered', 'read')),
            'delivered', count(*) FILTER (WHERE status IN ('delivered', 'read')),
            'read', count(*) FILTER (WHERE status = 'read'),
            'failed', count(*) FILTER (WHERE status = 'failed'),
            'skipped', count(*) FILTER (WHERE status = 'skipped'),
            'unknown', count(*) FILTER (WHERE status = 'unknown'),
            'replied', count(replied_at))
        INTO counts FROM campaign_recipients WHERE campaign_id = NEW.id;
        PERFORM emit_webhook_event(NEW.tenant_id, 'campaign.completed', 'campaign.completed:' || NEW.id::text,
            COALESCE(NEW.finished_at, now()), jsonb_build_object('campaignId', NEW.id, 'name', NEW.name,
                'state', NEW.status, 'at', COALESCE(NEW.finished_at, now()), 'counts', counts));
    ELSE
        PERFORM emit_webhook_event(NEW.tenant_id, 'campaign.paused',
            'campaign.paused:' || NEW.id::text || ':' || to_char(clock_timestamp(), 'YYYYMMDDHH24MISSUS'), now(),
            jsonb_build_object('campaignId', NEW.id, 'name', NEW.name, 'state', NEW.status, 'reason', NEW.reason, 'at', now()));
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER webhook_campaign_events AFTER UPDATE OF status ON campaigns FOR EACH ROW
    WHEN (NEW.status IN ('completed', 'paused') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION webhook_campaign_events();

-- +goose StatementBegin
CREATE FUNCTION webhook_import_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM emit_webhook_event(NEW.tenant_id, 'import.' || NEW.status, 'import.' || NEW.status || ':' || NEW.id::text,
        COALESCE(NEW.finished_at, now()), jsonb_build_object('importId', NEW.id, 'fileName', NEW.file_name,
            'status', NEW.status, 'rowsTotal', NEW.rows_total, 'imported', NEW.imported, 'updated', NEW.updated,
            'rejected', NEW.rejected, 'error', NEW.error, 'at', COALESCE(NEW.finished_at, now())));
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER webhook_import_events AFTER UPDATE OF status ON imports FOR EACH ROW
    WHEN (NEW.status IN ('completed', 'failed') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION webhook_import_events();

-- An instance's health as the events name it: banned, logged_out, locked
-- (reach-out lock), paused (delivery guard), disconnected, or ok.
-- +goose StatementBegin
CREATE FUNCTION instance_health_state(blocked_reason text, new_lane_state text, connected boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN blocked_reason = 'temporary_ban' THEN 'banned'
        WHEN blocked_reason = 'logged_out' THEN 'logged_out'
        WHEN new_lane_state IS NOT NULL THEN new_lane_state
        WHEN connected IS FALSE THEN 'disconnected'
        ELSE 'ok'
    END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION webhook_instance_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    before text := instance_health_state(OLD.blocked_reason, OLD.new_lane_state, OLD.connected);
    after  text := instance_health_state(NEW.blocked_reason, NEW.new_lane_state, NEW.connected);
BEGIN
    IF before = after THEN
        RETURN NULL;
    END IF;
    PERFORM emit_webhook_event(NEW.tenant_id, 'instance.health_changed',
        'instance.health_changed:' || NEW.id::text || ':' || to_char(clock_timestamp(), 'YYYYMMDDHH24MISSUS'), now(),
        jsonb_build_object('instanceId', NEW.id, 'name', NEW.name, 'state', after, 'previousState', before,
            'reason', COALESCE(NEW.new_lane_reason, NEW.blocked_reason), 'until', COALESCE(NEW.blocked_until, NEW.new_lane_until),
            'at', now()));
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER webhook_instance_events AFTER UPDATE OF blocked_reason, new_lane_state, connected ON instances FOR EACH ROW
    WHEN (OLD.blocked_reason IS DISTINCT FROM NEW.blocked_reason OR OLD.new_lane_state IS DISTINCT FROM NEW.new_lane_state
       OR OLD.connected IS DISTINCT FROM NEW.connected)
    EXECUTE FUNCTION webhook_instance_events();

-- +goose Down
DROP TRIGGER webhook_instance_events ON instances;
DROP FUNCTION webhook_instance_events();
DROP FUNCTION instance_health_state(text, text, boolean);
DROP TRIGGER webhook_import_events ON imports;
DROP FUNCTION webhook_import_events();
DROP TRIGGER webhook_campaign_events ON campaigns;
DROP FUNCTION webhook_campaign_events();
DROP TRIGGER webhook_opt_out_events ON opt_outs;
DROP FUNCTION webhook_opt_out_events();
DROP TRIGGER webhook_reply_events ON replies;
DROP FUNCTION webhook_reply_events();
DROP TRIGGER webhook_recipient_events ON campaign_recipients;
DROP FUNCTION webhook_recipient_events();
DROP FUNCTION emit_webhook_event(uuid, text, text, timestamptz, jsonb);
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
