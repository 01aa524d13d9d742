-- +goose Up
-- Opt-outs are kept per tenant by phone, apart from contacts: deleting a
-- contact, or importing the phone again, never makes it messageable again.
-- contacts.opted_out_at stays the column campaigns read; a trigger keeps the
-- two in step: a contact that opts out adds its phone here, and a contact
-- inserted for a phone here starts opted out.
CREATE TABLE opt_outs (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    phone        text NOT NULL,
    opted_out_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, phone)
);

INSERT INTO opt_outs (tenant_id, phone, opted_out_at)
SELECT tenant_id, phone, opted_out_at FROM contacts WHERE opted_out_at IS NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION contacts_keep_opt_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.opted_out_at IS NOT NULL THEN
        INSERT INTO opt_outs (tenant_id, phone, opted_out_at)
        VALUES (NEW.tenant_id, NEW.phone, NEW.opted_out_at)
        ON CONFLICT (tenant_id, phone) DO NOTHING;
    ELSE
        -- A new contact, or an update that would clear the opt-out: the
        -- suppression list decides.
        SELECT o.opted_out_at INTO NEW.opted_out_at
        FROM opt_outs o WHERE o.tenant_id = NEW.tenant_id AND o.phone = NEW.phone;
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd

CREATE TRIGGER contacts_keep_opt_out BEFORE INSERT OR UPDATE OF opted_out_at ON contacts
    FOR EACH ROW EXECUTE FUNCTION contacts_keep_opt_out();

-- +goose Down
DROP TRIGGER contacts_keep_opt_out ON contacts;
DROP FUNCTION contacts_keep_opt_out();
DROP TABLE opt_outs;
