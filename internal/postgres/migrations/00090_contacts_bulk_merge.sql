-- +goose Up
-- An import merges up to millions of contacts, and the foreign key to
-- tenants checked every one of them (a third of the merge's cost). Tenants
-- are never deleted through the API; when an operator deletes one, this
-- trigger removes its contacts as the key's ON DELETE CASCADE did.
ALTER TABLE contacts DROP CONSTRAINT contacts_tenant_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION delete_tenant_contacts() RETURNS trigger AS $$
BEGIN
    DELETE FROM contacts WHERE tenant_id = OLD.id;
    RETURN OLD;
END
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER tenants_delete_contacts AFTER DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION delete_tenant_contacts();

-- +goose Down
DROP TRIGGER tenants_delete_contacts ON tenants;
DROP FUNCTION delete_tenant_contacts();
ALTER TABLE contacts ADD CONSTRAINT contacts_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE;
