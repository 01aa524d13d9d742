-- +goose Up
-- Each update of a recipient reads back, from its stored text, the WHEN
-- clause of every row trigger its SET list can fire (a trigger with a
-- column list is skipped without reading it when the update sets none of
-- its columns): a send's claim and mark read four, 11 % of the statement's
-- instructions. So:
--  * the pending receipts' trigger has no WHEN; its function checks the id
--    (only the claim and a resend set it);
--  * the webhook events of sends, deliveries and reads fire on updates that
--    set sent_at, delivered_at or read_at (the mark, receipts), without a
--    WHEN; their function returns before any query when none of the three
--    was first set;
--  * the status trigger reads one short WHEN (failed or unknown, which no
--    claim or mark writes) and does both jobs that watched status: a
--    failure's webhook event, and settling an unknown recipient by its
--    delivery receipt (migrations 00083, 00275).
-- The events, their keys and payloads are the same.

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION apply_pending_receipts_of_recipient() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.wuzapi_message_id IS NULL OR NEW.wuzapi_message_id IS NOT DISTINCT FROM OLD.wuzapi_message_id THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM pending_receipts WHERE message_id = NEW.wuzapi_message_id) THEN
        PERFORM apply_pending_receipts(ARRAY[NEW.wuzapi_message_id]);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
DROP TRIGGER campaign_recipients_pending_receipts ON campaign_recipients;
CREATE TRIGGER campaign_recipients_pending_receipts
    AFTER UPDATE OF wuzapi_message_id ON campaign_recipients
    FOR EACH ROW EXECUTE FUNCTION apply_pending_receipts_of_recipient();

-- webhook_recipient_event records one event of recipient r (tenant t, the
-- campaign's instance i) of type p_type at p_at, with p_extra in its data.
-- +goose StatementBegin
CREATE FUNCTION webhook_recipient_event(t uuid, i uuid, r campaign_recipients, p_type text, p_at timestamptz, p_extra jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM emit_webhook_event(t, p_type, p_type || ':' || r.campaign_id::text || ':' || r.phone || ':' || r.generation::text, p_at,
        jsonb_build_object('campaignId', r.campaign_id, 'instanceId', COALESCE(r.instance_id, i), 'phone', r.phone,
            'contactId', r.contact_id, 'messageId', r.wuzapi_message_id, 'status', r.status, 'at', p_at) || p_extra);
END
$$;
-- +goose StatementEnd

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
DROP TRIGGER webhook_recipient_events ON campaign_recipients;
CREATE TRIGGER webhook_recipient_events AFTER UPDATE OF sent_at, delivered_at, read_at ON campaign_recipients
    FOR EACH ROW EXECUTE FUNCTION webhook_recipient_events();

-- +goose StatementBegin
CREATE FUNCTION webhook_recipient_status() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
    i uuid;
BEGIN
    IF NEW.status = 'unknown' THEN
        -- Settled by its delivery receipt in the same transaction, so no
        -- one sees it unknown; this update does not match it again.
        UPDATE campaign_recipients SET
            status     = CASE WHEN read_at IS NOT NULL THEN 'read' ELSE 'delivered' END,
            sent_at    = coalesce(sent_at, delivered_at),
            last_error = NULL
        WHERE campaign_id = NEW.campaign_id AND phone = NEW.phone AND status = 'unknown' AND delivered_at IS NOT NULL;
        RETURN NULL;
    END IF;
    IF NEW.status = 'failed' AND OLD.status IS DISTINCT FROM 'failed' THEN
        SELECT tenant_id, instance_id INTO t, i FROM campaigns WHERE id = NEW.campaign_id;
        IF EXISTS (SELECT 1 FROM webhook_endpoints WHERE tenant_id = t) THEN
            PERFORM webhook_recipient_event(t, i, NEW, 'message.failed', COALESCE(NEW.failed_at, now()),
                jsonb_build_object('error', NEW.last_error));
        END IF;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
DROP TRIGGER campaign_recipients_settle_unknown ON campaign_recipients;
DROP FUNCTION settle_unknown_by_receipt();
-- After webhook_recipient_events by name: a failure's event comes after
-- the other events of the same update.
CREATE TRIGGER webhook_recipient_status AFTER UPDATE OF status ON campaign_recipients
    FOR EACH ROW WHEN (NEW.status IN ('failed', 'unknown'))
    EXECUTE FUNCTION webhook_recipient_status();

-- +goose Down
DROP TRIGGER webhook_recipient_status ON campaign_recipients;
DROP FUNCTION webhook_recipient_status();
-- +goose StatementBegin
CREATE FUNCTION settle_unknown_by_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE campaign_recipients SET
        status     = CASE WHEN read_at IS NOT NULL THEN 'read' ELSE 'delivered' END,
        sent_at    = coalesce(sent_at, delivered_at),
        last_error = NULL
    WHERE campaign_id = NEW.campaign_id AND phone = NEW.phone AND status = 'unknown' AND delivered_at IS NOT NULL;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER campaign_recipients_settle_unknown
    AFTER UPDATE OF status ON campaign_recipients
    FOR EACH ROW
    WHEN (NEW.status = 'unknown' AND NEW.delivered_at IS NOT NULL)
    EXECUTE FUNCTION settle_unknown_by_receipt();

DROP TRIGGER webhook_recipient_events ON campaign_recipients;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION webhook_recipient_events() RETURNS trigger LANGUAGE plpgsql AS $$
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
DROP FUNCTION webhook_recipient_event(uuid, uuid, campaign_recipients, text, timestamptz, jsonb);

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION apply_pending_receipts_of_recipient() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pending_receipts WHERE message_id = NEW.wuzapi_message_id) THEN
        PERFORM apply_pending_receipts(ARRAY[NEW.wuzapi_message_id]);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
DROP TRIGGER campaign_recipients_pending_receipts ON campaign_recipients;
CREATE TRIGGER campaign_recipients_pending_receipts
    AFTER UPDATE OF wuzapi_message_id ON campaign_recipients
    FOR EACH ROW
    WHEN (NEW.wuzapi_message_id IS NOT NULL AND NEW.wuzapi_message_id IS DISTINCT FROM OLD.wuzapi_message_id)
    EXECUTE FUNCTION apply_pending_receipts_of_recipient();
