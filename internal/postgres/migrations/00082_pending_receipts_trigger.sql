-- +goose Up
-- Apply a kept receipt the moment its message id is written to a recipient
-- (the campaign worker writes it when it claims the recipient), so early
-- receipts need no call from the worker. A receipt kept concurrently with
-- that write (neither transaction sees the other) is applied by the
-- scheduler's sweep within a minute.
-- +goose StatementBegin
CREATE FUNCTION apply_pending_receipts_of_recipient() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pending_receipts WHERE message_id = NEW.wuzapi_message_id) THEN
        PERFORM apply_pending_receipts(ARRAY[NEW.wuzapi_message_id]);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- apply_receipt's own UPDATE never sets wuzapi_message_id, so this does not recurse.
CREATE TRIGGER campaign_recipients_pending_receipts
    AFTER UPDATE OF wuzapi_message_id ON campaign_recipients
    FOR EACH ROW
    WHEN (NEW.wuzapi_message_id IS NOT NULL AND NEW.wuzapi_message_id IS DISTINCT FROM OLD.wuzapi_message_id)
    EXECUTE FUNCTION apply_pending_receipts_of_recipient();

-- +goose Down
DROP TRIGGER campaign_recipients_pending_receipts ON campaign_recipients;
DROP FUNCTION apply_pending_receipts_of_recipient();
