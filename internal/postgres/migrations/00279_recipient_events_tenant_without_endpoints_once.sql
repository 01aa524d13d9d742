-- +goose Up
-- A bulk claim marks up to 16 sends of one campaign in one statement, and
-- the events' trigger asked for each of them which tenant the campaign is
-- and whether it has a webhook endpoint: two lookups a send, for the answer
-- "none" almost always. A campaign whose tenant has none is noted in a
-- transaction-local setting, so the statement's other sends of it return at
-- once; a tenant with endpoints is asked each time as before. An endpoint
-- created while such a statement runs is seen from the next transaction on
-- (before, from whichever of the statement's rows ran after its commit).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION webhook_recipient_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
    i uuid;
BEGIN
    IF NOT ((OLD.sent_at IS NULL AND NEW.sent_at IS NOT NULL)
         OR (OLD.delivered_at IS NULL AND NEW.delivered_at IS NOT NULL)
         OR (OLD.read_at IS NULL AND NEW.read_at IS NOT NULL)) THEN
        RETURN NULL;
    END IF;
    IF current_setting('wm.campaign_without_endpoints', true) = NEW.campaign_id::text THEN
        RETURN NULL;
    END IF;
    SELECT tenant_id, instance_id INTO t, i FROM campaigns WHERE id = NEW.campaign_id;
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE tenant_id = t) THEN
        PERFORM set_config('wm.campaign_without_endpoints', NEW.campaign_id::text, true);
        RETURN NULL;
    END IF;
    IF OLD.sent_at IS NULL AND NEW.sent_at IS NOT NULL THEN
        PERFORM webhook_recipient_event(t, i, NEW, 'message.sent', NEW.sent_at, '{}');
    END IF;
    IF OLD.delivered_at IS NULL AND NEW.delivered_at IS NOT NULL THEN
        PERFORM webhook_recipient_event(t, i, NEW, 'message.delivered', NEW.delivered_at, '{}');
    END IF;
    IF OLD.read_at IS NULL AND NEW.read_at IS NOT NULL THEN
        PERFORM webhook_recipient_event(t, i, NEW, 'message.read', NEW.read_at, '{}');
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION webhook_recipient_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
    i uuid;
BEGIN
    IF NOT ((OLD.sent_at IS NULL AND NEW.sent_at IS NOT NULL)
         OR (OLD.delivered_at IS NULL AND NEW.delivered_at IS NOT NULL)
         OR (OLD.read_at IS NULL AND NEW.read_at IS NOT NULL)) THEN
        RETURN NULL;
    END IF;
    SELECT tenant_id, instance_id INTO t, i FROM campaigns WHERE id = NEW.campaign_id;
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE tenant_id = t) THEN
        RETURN NULL;
    END IF;
    IF OLD.sent_at IS NULL AND NEW.sent_at IS NOT NULL THEN
        PERFORM webhook_recipient_event(t, i, NEW, 'message.sent', NEW.sent_at, '{}');
    END IF;
    IF OLD.delivered_at IS NULL AND NEW.delivered_at IS NOT NULL THEN
        PERFORM webhook_recipient_event(t, i, NEW, 'message.delivered', NEW.delivered_at, '{}');
    END IF;
    IF OLD.read_at IS NULL AND NEW.read_at IS NOT NULL THEN
        PERFORM webhook_recipient_event(t, i, NEW, 'message.read', NEW.read_at, '{}');
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
