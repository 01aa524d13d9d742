-- +goose Up
-- A BEFORE ROW UPDATE trigger makes every update of a recipient lock its row
-- first, whatever the trigger's WHEN says: the send's mark (which has not
-- locked its row before) paid a tuple lock, its WAL record and a second
-- visit of the page on every send. The rule of migration 00083 stays the
-- same as an AFTER trigger: a recipient that becomes unknown while it
-- carries a delivery receipt is settled by it in the same transaction
-- (read or delivered, sent_at from the receipt when missing), so no one ever
-- sees it unknown; the trigger's own update does not match it again.
DROP TRIGGER campaign_recipients_settle_unknown ON campaign_recipients;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION settle_unknown_by_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- +goose Down
DROP TRIGGER campaign_recipients_settle_unknown ON campaign_recipients;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION settle_unknown_by_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.status     := CASE WHEN NEW.read_at IS NOT NULL THEN 'read' ELSE 'delivered' END;
    NEW.sent_at    := coalesce(NEW.sent_at, NEW.delivered_at);
    NEW.last_error := NULL;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER campaign_recipients_settle_unknown
    BEFORE UPDATE OF status ON campaign_recipients
    FOR EACH ROW
    WHEN (NEW.status = 'unknown' AND NEW.delivered_at IS NOT NULL)
    EXECUTE FUNCTION settle_unknown_by_receipt();
