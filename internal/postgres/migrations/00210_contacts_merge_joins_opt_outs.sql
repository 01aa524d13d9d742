-- +goose Up
-- A contact merge (imports, POST /v1/contacts) reads the suppression list
-- itself, with one join for the whole batch, and says so for the rest of
-- its statement with the transaction-local setting
-- wuzapi.opt_outs_joined = 'on'; the row trigger then does not run for its
-- inserts. Its per-row lookup (a PL/pgSQL call and an index probe of
-- opt_outs) was about a tenth of the merge's Postgres CPU. Every other
-- insert, and every update of opted_out_at, still goes through the trigger.
DROP TRIGGER contacts_keep_opt_out ON contacts;
CREATE TRIGGER contacts_keep_opt_out BEFORE UPDATE OF opted_out_at ON contacts
    FOR EACH ROW EXECUTE FUNCTION contacts_keep_opt_out();
CREATE TRIGGER contacts_keep_opt_out_insert BEFORE INSERT ON contacts
    FOR EACH ROW WHEN (current_setting('wuzapi.opt_outs_joined', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION contacts_keep_opt_out();

-- +goose Down
DROP TRIGGER contacts_keep_opt_out_insert ON contacts;
DROP TRIGGER contacts_keep_opt_out ON contacts;
CREATE TRIGGER contacts_keep_opt_out BEFORE INSERT OR UPDATE OF opted_out_at ON contacts
    FOR EACH ROW EXECUTE FUNCTION contacts_keep_opt_out();
