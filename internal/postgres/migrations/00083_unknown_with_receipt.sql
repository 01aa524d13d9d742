-- +goose Up
-- A recipient whose receipt arrived while it was 'sending' carries
-- delivered_at; if its worker then dies, the stuck-send sweep marks it
-- 'unknown', yet WuzAPI already told us it was delivered (and posts each
-- receipt only once). Settle it by its receipts instead of leaving it unknown.
-- The WHEN clause is evaluated without calling the function, so other
-- status changes pay nothing.
-- +goose StatementBegin
CREATE FUNCTION settle_unknown_by_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- +goose Down
DROP TRIGGER campaign_recipients_settle_unknown ON campaign_recipients;
DROP FUNCTION settle_unknown_by_receipt();
